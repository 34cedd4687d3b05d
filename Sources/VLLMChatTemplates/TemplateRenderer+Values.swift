/// Values under the sandbox: iteration, printing and nesting, each bounded by the render's budget.
extension TemplateRenderer {
    /// Python iteration: lists, dict keys, string characters; undefined iterates as empty.
    func iterate(_ value: TemplateValue) throws -> [TemplateValue] {
        switch value {
        case let .array(a): return a
        case let .object(o): return o.keys.map(TemplateValue.keyValue)
        case let .string(s):
            try budget.allocateList(s.count)
            return s.map { .string(String($0)) }
        case .undefined: return []
        case let .namespace(n): return n.values.keys.map { .string($0) }
        default: throw TemplateError("'\(typeName(value))' object is not iterable")
        }
    }

    func typeName(_ v: TemplateValue) -> String {
        switch v {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .array: "list"
        case .object: "dict"
        case .function: "function"
        case .namespace: "Namespace"
        }
    }

    /// Python `str()` within the string size bound: a list repeated by `*` prints its items again and again, so
    /// the text is checked as it grows.
    func str(_ value: TemplateValue) throws -> String {
        switch value {
        case .undefined: return ""
        case let .string(s): return s
        case .array, .object, .namespace:
            var out = ""
            try describe(value, into: &out, level: 0)
            return out
        default: return value.repr
        }
    }

    /// Python `repr()` within the string size bound.
    func repr(_ value: TemplateValue) throws -> String {
        var out = ""
        try describe(value, into: &out, level: 0)
        return out
    }

    /// Appends `repr(value)` to `out`, as `TemplateValue.repr` does, checking size, nesting and time on the way.
    private func describe(_ value: TemplateValue, into out: inout String, level: Int) throws {
        try budget.spend()
        try checkTraversal(level)
        switch value {
        case let .array(a):
            out += "["
            for (i, item) in a.enumerated() {
                if i > 0 { out += ", " }
                try describe(item, into: &out, level: level + 1)
            }
            out += "]"
        case let .object(o):
            out += "{"
            for (i, (key, item)) in o.enumerated() {
                if i > 0 { out += ", " }
                out += TemplateValue.keyValue(key).repr + ": "
                try describe(item, into: &out, level: level + 1)
            }
            out += "}"
        case let .namespace(n):
            out += "<Namespace "
            for (i, (key, item)) in n.values.enumerated() {
                if i > 0 { out += ", " }
                out += key + "="
                try describe(item, into: &out, level: level + 1)
            }
            out += ">"
        default:
            out += value.repr
        }
        try budget.checkLength(out)
    }

    /// Recursive walks over values (printing, JSON, comparison) stop at twice `maxValueDepth`: values a template
    /// builds are checked against `maxValueDepth` when built, and values passed in are the caller's.
    func checkTraversal(_ level: Int) throws {
        if level > 2 * budget.limits.maxValueDepth {
            throw TemplateError.limit("values nested deeper than \(2 * budget.limits.maxValueDepth) levels")
        }
    }

    /// Checks a value about to be put inside a list, dict or namespace: its nesting stays within `maxValueDepth`,
    /// and (for a namespace) it does not contain `namespace` itself, which would make a cycle no printing or
    /// serialising could finish.
    func checkNesting(_ value: TemplateValue, storedIn namespace: TemplateNamespace? = nil) throws {
        try walk(value, level: 1, namespace)
    }

    private func walk(_ value: TemplateValue, level: Int, _ target: TemplateNamespace?) throws {
        switch value {
        case .array, .object, .namespace: break
        default: return
        }
        try budget.spend()
        if level >= budget.limits.maxValueDepth {
            throw TemplateError.limit("lists, dicts and namespaces nested deeper than \(budget.limits.maxValueDepth) levels")
        }
        switch value {
        case let .array(a): for item in a { try walk(item, level: level + 1, target) }
        case let .object(o): for item in o.values { try walk(item, level: level + 1, target) }
        case let .namespace(n):
            if n === target { throw TemplateError("a namespace cannot contain itself (sandboxed)") }
            for item in n.values.values { try walk(item, level: level + 1, target) }
        default: return
        }
    }

    /// Builds a string no larger than the size bound: `count` repetitions of `piece` (Python's `str * n`).
    func repeated(_ piece: String, _ count: Int) throws -> String {
        guard count > 0, !piece.isEmpty else { return "" }
        let (bytes, overflow) = piece.utf8.count.multipliedReportingOverflow(by: count)
        try budget.allocateString(overflow ? Int.max : bytes)
        return Self.doubling(piece, count)
    }

    /// `count` copies of `piece` by doubling: a few large copies rather than `count` appends.
    static func doubling(_ piece: String, _ count: Int) -> String {
        guard count > 1 else { return count == 1 ? piece : "" }
        let half = doubling(piece, count / 2)
        return count % 2 == 0 ? half + half : half + half + piece
    }
}
