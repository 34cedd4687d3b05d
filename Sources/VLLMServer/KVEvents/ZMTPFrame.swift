import NIOCore

/// ZMTP 3 framing: a flags byte (MORE 0x01, LONG 0x02, COMMAND 0x04), a 1- or 8-byte big-endian size, the body.
struct ZMTPFrame {
    var more: Bool
    var isCommand: Bool
    var body: [UInt8]

    /// Frames larger than this are refused (a subscriber only sends short subscriptions and commands).
    static let maxInbound = 1 << 20

    /// The next whole frame in `buffer`, or nil (leaving it untouched) when it has not all arrived.
    static func read(from buffer: inout ByteBuffer) throws -> ZMTPFrame? {
        var view = buffer
        guard let flags = view.readInteger(as: UInt8.self) else { return nil }
        let size: UInt64
        if flags & 0x02 != 0 {
            guard let long = view.readInteger(endianness: .big, as: UInt64.self) else { return nil }
            size = long
        } else {
            guard let short = view.readInteger(as: UInt8.self) else { return nil }
            size = UInt64(short)
        }
        guard size <= maxInbound else { throw ZMTPError.malformed }
        guard let body = view.readBytes(length: Int(size)) else { return nil }
        buffer = view
        return ZMTPFrame(more: flags & 0x01 != 0, isCommand: flags & 0x04 != 0, body: body)
    }

    /// The READY command announcing our socket type.
    static func ready(socketType: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var body: [UInt8] = [5] + Array("READY".utf8)
        let name = Array("Socket-Type".utf8), value = Array(socketType.utf8)
        body += [UInt8(name.count)] + name
        withUnsafeBytes(of: UInt32(value.count).bigEndian) { body += $0 }
        body += value
        var out = allocator.buffer(capacity: body.count + 9)
        writeHeader(flags: 0x04, size: body.count, into: &out)
        out.writeBytes(body)
        return out
    }

    /// A multipart message: every frame but the last carries MORE.
    static func message(_ frames: [[UInt8]], allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: frames.reduce(0) { $0 + $1.count + 9 })
        for (i, frame) in frames.enumerated() {
            writeHeader(flags: i < frames.count - 1 ? 0x01 : 0, size: frame.count, into: &out)
            out.writeBytes(frame)
        }
        return out
    }

    private static func writeHeader(flags: UInt8, size: Int, into out: inout ByteBuffer) {
        if size > 255 {
            out.writeInteger(flags | 0x02)
            out.writeInteger(UInt64(size), endianness: .big)
        } else {
            out.writeInteger(flags)
            out.writeInteger(UInt8(size))
        }
    }

    /// A metadata property's value in a READY command's body (after its name).
    static func property(_ name: String, in body: [UInt8]) -> String? {
        var i = 0
        while i < body.count {
            let nameLength = Int(body[i])
            guard i + 1 + nameLength + 4 <= body.count else { return nil }
            let key = String(decoding: body[(i + 1)..<(i + 1 + nameLength)], as: UTF8.self)
            i += 1 + nameLength
            let valueLength = body[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) }
            i += 4
            guard i + valueLength <= body.count else { return nil }
            if key.lowercased() == name.lowercased() { return String(decoding: body[i..<(i + valueLength)], as: UTF8.self) }
            i += valueLength
        }
        return nil
    }
}
