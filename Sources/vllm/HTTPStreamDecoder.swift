/// Turns the bytes of one HTTP/1.1 response into its status and the lines of its body as they arrive,
/// undoing chunked transfer encoding, so that SSE `data:` lines are seen whole whatever the chunk boundaries.
struct HTTPStreamDecoder {
    private(set) var status = 0
    /// True once a chunked body's last chunk has been read.
    private(set) var finished = false
    private var raw: [UInt8] = []
    private var headerDone = false
    private var chunked = false
    private var remaining = 0       // bytes left in the current chunk
    private var line: [UInt8] = []  // the body line being assembled

    /// Feeds received bytes; returns the complete body lines they finish (without the line ending).
    mutating func feed(_ bytes: ArraySlice<UInt8>) -> [String] {
        raw += bytes
        var lines: [String] = []
        if !headerDone {
            guard let end = Self.find([13, 10, 13, 10], in: raw) else { return [] }
            let head = String(decoding: raw[0..<end], as: UTF8.self)
            raw.removeFirst(end + 4)
            headerDone = true
            let statusLine = head.split(separator: "\r\n").first ?? ""
            status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            chunked = head.lowercased().contains("transfer-encoding: chunked")
        }
        if !chunked {
            body(raw[...], into: &lines)
            raw.removeAll(keepingCapacity: true)
            return lines
        }
        while !finished {
            if remaining == 0 {
                guard let end = Self.find([13, 10], in: raw) else { break }
                let sizeText = String(decoding: raw[0..<end], as: UTF8.self).split(separator: ";").first ?? ""
                if sizeText.isEmpty { raw.removeFirst(end + 2); continue }  // the CRLF after a chunk's data
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { finished = true; break }
                raw.removeFirst(end + 2)
                if size == 0 { finished = true; break }
                remaining = size
            }
            let take = min(remaining, raw.count)
            if take == 0 { break }
            body(raw[0..<take], into: &lines)
            raw.removeFirst(take)
            remaining -= take
        }
        return lines
    }

    private mutating func body(_ bytes: ArraySlice<UInt8>, into lines: inout [String]) {
        for byte in bytes {
            if byte == 10 {
                if line.last == 13 { line.removeLast() }
                lines.append(String(decoding: line, as: UTF8.self))
                line.removeAll(keepingCapacity: true)
            } else {
                line.append(byte)
            }
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        for i in 0...(bytes.count - pattern.count) where bytes[i] == pattern[0] {
            if Array(bytes[i..<(i + pattern.count)]) == pattern { return i }
        }
        return nil
    }
}
