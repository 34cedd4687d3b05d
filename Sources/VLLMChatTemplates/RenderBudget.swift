import Synchronization

/// What one parse or render has spent against its `TemplateLimits`: nesting, loop iterations, allocated bytes and
/// work. Work is counted in rough units (an evaluation step, a character compared) and the clock is read only every
/// few thousand units, so checking costs little; every loop and recursion of the interpreter goes through here.
final class RenderBudget {
    let limits: TemplateLimits
    let deadline: ContinuousClock.Instant
    let cancellation: RenderCancellation?
    private(set) var depth = 0
    private(set) var callDepth = 0
    private var iterations = 0
    private var allocated = 0
    private var work = 0
    private var nextClockCheck = 0

    /// Units of work between two readings of the clock (a few microseconds to a few milliseconds of work).
    static let clockInterval = 1 << 14

    init(limits: TemplateLimits, deadline: ContinuousClock.Instant, cancellation: RenderCancellation? = nil) {
        self.limits = limits
        self.deadline = deadline
        self.cancellation = cancellation
    }

    /// A budget with no deadline to speak of (tests of single operations).
    convenience init(limits: TemplateLimits = .default) {
        self.init(limits: limits, deadline: .now + limits.timeLimit)
    }

    /// Counts `units` of work; past the deadline (or after cancellation) throws.
    @inline(__always)
    func spend(_ units: Int = 1) throws {
        work &+= max(units, 1)
        if work >= nextClockCheck { try checkClock() }
    }

    func checkClock() throws {
        nextClockCheck = work &+ Self.clockInterval
        if ContinuousClock.now > deadline {
            throw TemplateError.limit("the template ran longer than its time limit of \(limits.timeLimit)")
        }
        if cancellation?.isCancelled == true { throw TemplateError("rendering was cancelled", kind: .limit) }
    }

    /// One level deeper in the evaluation of nested expressions and statements.
    @inline(__always)
    func enter() throws {
        depth += 1
        if depth > limits.maxNestingDepth {
            depth -= 1
            throw TemplateError.limit("expressions and statements nested deeper than \(limits.maxNestingDepth) levels")
        }
        try spend()
    }

    @inline(__always)
    func leave() { depth -= 1 }

    /// One macro (or `caller`) call deeper.
    func enterCall() throws {
        callDepth += 1
        if callDepth > limits.maxCallDepth {
            callDepth -= 1
            throw TemplateError.limit("macro calls nested deeper than \(limits.maxCallDepth) (endless recursion?)")
        }
    }

    func leaveCall() { callDepth -= 1 }

    /// One loop iteration.
    func iterate() throws {
        iterations += 1
        if iterations > limits.maxLoopIterations {
            throw TemplateError.limit("the template ran more than \(limits.maxLoopIterations) loop iterations")
        }
        try spend()
    }

    /// A string of `bytes` UTF-8 bytes is about to be built: within the size bound, and counted.
    func allocateString(_ bytes: Int) throws {
        if bytes > limits.maxStringBytes {
            throw TemplateError.limit("a string of \(bytes) bytes is larger than the sandbox allows (\(limits.maxStringBytes))")
        }
        try allocate(bytes)
    }

    /// A list of `count` items is about to be built: within the length bound, and counted.
    func allocateList(_ count: Int) throws {
        if count > limits.maxListLength {
            throw TemplateError.limit("a list of \(count) items is longer than the sandbox allows (\(limits.maxListLength))")
        }
        try allocate(count * MemoryLayout<TemplateValue>.stride)
    }

    private func allocate(_ bytes: Int) throws {
        allocated += max(bytes, 0)
        if allocated > limits.maxAllocatedBytes {
            throw TemplateError.limit("the template built more than \(limits.maxAllocatedBytes) bytes of strings and lists")
        }
        try spend(bytes >> 4)
    }

    /// Throws when `string` has grown past the size bound (for strings built piece by piece).
    @inline(__always)
    func checkLength(_ string: String) throws {
        if string.utf8.count > limits.maxStringBytes {
            throw TemplateError.limit("a string grew larger than the sandbox allows (\(limits.maxStringBytes) bytes)")
        }
    }
}

/// Set from another thread to stop a render at its next clock check (the client went away).
public final class RenderCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .relaxed) }

    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}
