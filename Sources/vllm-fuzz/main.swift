// `vllm-fuzz HARNESS [ARGS...]`: one executable for every fuzz harness (see FuzzHarness and tools/fuzz.sh).
//
// Built with `-Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING` (tools/fuzz.sh), main hands the remaining arguments to
// libFuzzer's driver (`LLVMFuzzerRunDriver`: SwiftPM defines `main` for executables, so libFuzzer's own `main` is
// never linked). In a normal build it replays files and directories through the same harness: that is how the
// regression inputs under Tests/Fixtures/fuzz-regressions run in the test suite.
import Foundation
import VLLMFuzzing

let arguments = CommandLine.arguments
guard arguments.count >= 2, let harness = FuzzHarness(rawValue: arguments[1]) else {
    let names = FuzzHarness.allCases.map(\.rawValue).joined(separator: "|")
    FileHandle.standardError.write(Data("usage: vllm-fuzz \(names) [FILE|DIR ...] (fuzzing build: libFuzzer flags)\n".utf8))
    exit(2)
}
FuzzHarness.current = harness

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

// libFuzzer sees argv without the harness name.
var driverArguments: [UnsafeMutablePointer<CChar>?] = ([arguments[0]] + arguments.dropFirst(2)).map { strdup($0) } + [nil]
var driverCount = CInt(driverArguments.count - 1)
let status = driverArguments.withUnsafeMutableBufferPointer { buffer in
    var base = buffer.baseAddress!
    return runFuzzerDriver(&driverCount, &base) { data, size in
        FuzzHarness.current.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
exit(status)
#else
exit(FuzzReplay(harness: harness).run(paths: Array(arguments.dropFirst(2))))
#endif
