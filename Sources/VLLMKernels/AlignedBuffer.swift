/// A 64-byte aligned, uninitialised scratch allocation that grows on demand and never shrinks,
/// so steady-state steps allocate nothing.
public final class AlignedBuffer<Element>: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutablePointer<Element>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        pointer = Self.allocate(self.capacity)
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// Makes room for `count` elements (contents are not preserved) and returns the start.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            UnsafeMutableRawPointer(pointer).deallocate()
            capacity = max(count, capacity * 2)
            pointer = Self.allocate(capacity)
        }
        return pointer
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Element> {
        let bytes = max(64, count * MemoryLayout<Element>.stride)
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64).bindMemory(to: Element.self, capacity: count)
    }
}
