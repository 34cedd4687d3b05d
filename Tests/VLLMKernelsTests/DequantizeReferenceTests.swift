import CVLLMKernels
import Foundation
import Testing

/// Every quantized weight type's blocks against gguf-py's dequantization (tools/gen-dequant-fixtures.py), bit for
/// bit: through vk_dequantize_row, and through the packed panels' row gather (the only copy of a tied embedding).
struct DequantizeReferenceTests {
    struct Case: Decodable {
        let type: Int32, name: String, elements: Int, blocks: String, f32: String
    }

    static let cases: [Case] = {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/dequant-gguf-py.json")
        struct File: Decodable { let cases: [Case] }
        return (try? JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases) ?? []
    }()

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    static func expected(_ c: Case) -> [UInt32] {
        let raw = bytes(c.f32)
        return (0..<c.elements).map { i in (0..<4).reduce(UInt32(0)) { $0 | UInt32(raw[4 * i + $1]) << (8 * $1) } }
    }

    @Test func everyTypeTheKernelsReadHasAFixture() {
        let names = Set(Self.cases.map(\.name))
        #expect(names == ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"])
    }

    @Test(arguments: cases.map(\.name))
    func dequantizedRowsEqualGGUFPy(_ name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let blocks = Self.bytes(c.blocks)
        #expect(vk_row_bytes(c.type, Int64(c.elements)) == blocks.count, "block size of \(name)")
        var out = [Float](repeating: .nan, count: c.elements)
        blocks.withUnsafeBytes { vk_dequantize_row(c.type, $0.baseAddress!, &out, Int64(c.elements)) }
        let want = Self.expected(c)
        let wrong = (0..<c.elements).filter { out[$0].bitPattern != want[$0] }
        #expect(wrong.isEmpty, "\(name): \(wrong.count) of \(c.elements) differ, first at \(wrong.first ?? -1)")
    }

    /// The fixture's blocks as one row, packed into a panel (row 0 of 1), then gathered back.
    @Test(arguments: cases.map(\.name))
    func packedPanelsGatherGGUFPyValues(_ name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        // Under VLLM_CPU_ISA=scalar (or on a CPU without AVX2) there is no packed layout to gather from.
        guard vk_packed_supported(c.type) == 1 else { try Test.cancel("no packed kernel at this ISA level") }
        let blocks = Self.bytes(c.blocks)
        let size = Int(vk_packed_bytes(c.type, 1, Int64(c.elements)))
        let panel = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { panel.deallocate() }
        blocks.withUnsafeBytes { vk_pack_weights(c.type, $0.baseAddress!, Int64(blocks.count), 1, Int64(c.elements), panel, 0, 1) }
        var out = [Float](repeating: .nan, count: c.elements)
        vk_get_rows_packed(c.type, panel, Int64(c.elements), [0], 1, &out)
        let want = Self.expected(c)
        let wrong = (0..<c.elements).filter { out[$0].bitPattern != want[$0] }
        #expect(wrong.isEmpty, "\(name): \(wrong.count) of \(c.elements) differ, first at \(wrong.first ?? -1)")
    }
}
