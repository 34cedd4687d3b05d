import Foundation
import Testing
import VLLMServer

#if canImport(Glibc)
import Glibc
#endif

/// `--chat-template PATH`: a FIFO or device where a template file is expected blocked the start in open() (issue 26);
/// it is refused by name, as is a file over the template size limit, and a real file still loads.
struct ChatTemplateFileTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("chat-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let fifo = folder.appendingPathComponent("template.jinja").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: ChatFormatterError.self) { _ = try ChatFormatter.templateFile(fifo) }
        do { _ = try ChatFormatter.templateFile(fifo) } catch { #expect("\(error)".contains("is a FIFO, not a regular file")) }
    }

    @Test func aDeviceAndAFolderAreRefused() {
        #expect(throws: ChatFormatterError.self) { _ = try ChatFormatter.templateFile("/dev/zero") }
        #expect(throws: ChatFormatterError.self) { _ = try ChatFormatter.templateFile(folder.path) }
    }

    @Test func aFileOverTheLimitIsRefusedAndARealOneLoads() throws {
        let path = folder.appendingPathComponent("t.jinja").path
        try "{{ messages[0]['content'] }}".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ChatFormatter.templateFile(path) == "{{ messages[0]['content'] }}")
        #expect(throws: ChatFormatterError.self) { _ = try ChatFormatter.templateFile(path, limit: 8) }
        let link = folder.appendingPathComponent("link.jinja").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(try ChatFormatter.templateFile(link) == "{{ messages[0]['content'] }}")
    }
}
