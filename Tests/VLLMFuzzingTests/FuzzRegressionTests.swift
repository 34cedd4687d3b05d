import Foundation
import Testing
import VLLMFuzzing

/// Every input a fuzzer once crashed on (Tests/Fixtures/fuzz-regressions/<harness>/), replayed through its harness:
/// each must now fail with a thrown error (or parse), never trap. tools/fuzz.sh finds new ones.
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz-regressions").path

    @Test(arguments: FuzzHarness.allCases)
    func replaysSavedCrashes(_ harness: FuzzHarness) throws {
        let directory = Self.root + "/" + harness.rawValue
        guard FileManager.default.fileExists(atPath: directory) else { return }
        let files = FuzzReplay.files(directory)
        #expect(!files.isEmpty, "\(directory) holds no inputs")
        for file in files {
            let data = try #require(FileManager.default.contents(atPath: file), "cannot read \(file)")
            data.withUnsafeBytes { harness.run($0) }
        }
    }

    @Test func everyRegressionDirectoryNamesAHarness() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.root)) ?? []
        for name in names where !name.hasPrefix(".") {
            #expect(FuzzHarness(rawValue: name) != nil, "Tests/Fixtures/fuzz-regressions/\(name) is not a harness")
        }
    }
}
