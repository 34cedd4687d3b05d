/// Turns a RegexNode tree into SplitRegex's backtracking instructions.
struct RegexCompiler {
    var program: [SplitRegex.Instruction] = []
    var classes: [CharacterClass] = []
    let caseInsensitive: Bool

    init(caseInsensitive: Bool) { self.caseInsensitive = caseInsensitive }

    mutating func emit(_ node: RegexNode) {
        switch node {
        case let .scalar(value):
            if caseInsensitive, let s = Unicode.Scalar(value), s.isASCII, s.properties.isAlphabetic {
                let lower = String(s).lowercased().unicodeScalars.first!.value
                let upper = String(s).uppercased().unicodeScalars.first!.value
                program.append(.scalarFold(lower, upper))
            } else {
                program.append(.scalar(value))
            }
        case let .cls(cls):
            classes.append(cls)
            program.append(.cls(classes.count - 1))
        case .any: program.append(.any)
        case .start: program.append(.start)
        case .end: program.append(.end)
        case let .sequence(items): for item in items { emit(item) }
        case let .alternation(branches):
            var jumps: [Int] = []
            for (i, branch) in branches.enumerated() {
                if i < branches.count - 1 {
                    let split = program.count
                    program.append(.split(0, 0))
                    emit(branch)
                    jumps.append(program.count)
                    program.append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                } else {
                    emit(branch)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case let .repeatNode(inner, minimum, maximum, greedy):
            for _ in 0..<minimum { emit(inner) }
            if let maximum {
                // Optional copies, nested: (x(x(x)?)?)?
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(program.count)
                    program.append(.split(0, 0))
                    emit(inner)
                }
                for s in splits { program[s] = greedy ? .split(s + 1, program.count) : .split(program.count, s + 1) }
            } else {
                let loop = program.count
                program.append(.split(0, 0))
                emit(inner)
                program.append(.jump(loop))
                program[loop] = greedy ? .split(loop + 1, program.count) : .split(program.count, loop + 1)
            }
        case let .look(inner, negative):
            let look = program.count
            program.append(.look(negative: negative, body: look + 1, next: 0))
            emit(inner)
            program.append(.match)
            program[look] = .look(negative: negative, body: look + 1, next: program.count)
        }
    }
}
