/// One typed GGUF metadata value.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// The value as an integer, for any integer type.
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// The value as a floating-point number, for any numeric type.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.map(Double.init)
        }
    }

    public var float: Float? { double.map(Float.init) }

    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(let v) = self { return v }
        return nil
    }

    /// An array of strings (e.g. `tokenizer.ggml.tokens`), or nil if any element is not a string.
    public var strings: [String]? {
        guard let array else { return nil }
        var out: [String] = []
        out.reserveCapacity(array.count)
        for element in array {
            guard case .string(let s) = element else { return nil }
            out.append(s)
        }
        return out
    }

    /// An array of integers (e.g. `tokenizer.ggml.token_type`), or nil if any element is not an integer.
    public var ints: [Int]? {
        guard let array else { return nil }
        var out: [Int] = []
        out.reserveCapacity(array.count)
        for element in array {
            guard let v = element.int else { return nil }
            out.append(v)
        }
        return out
    }

    /// An array of numbers as Float (e.g. `tokenizer.ggml.scores`).
    public var floats: [Float]? {
        guard let array else { return nil }
        var out: [Float] = []
        out.reserveCapacity(array.count)
        for element in array {
            guard let v = element.float else { return nil }
            out.append(v)
        }
        return out
    }
}
