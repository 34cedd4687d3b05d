// The paged-attention loop, included once per ISA by attention.c with:
//   VK_ATTN_FN        the function target attribute
//   VK_ATTN_NAME      the function name
//   VK_ATTN_DOT(q, row, kv_type, n) / VK_ATTN_AXPY(acc, a, row, kv_type, n)   inlined vector helpers
// Keys are visited in tiles of VK_ATTN_TILE positions with one online softmax, the same order on every ISA. With a
// window the first tile is the one holding the query's first visible key (tiles stay fixed by absolute position).

static VK_ATTN_FN void VK_ATTN_NAME(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                         int64_t nq, const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                         const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                         int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window) {
    const int64_t group = n_head / n_kv_head, es = kv_type == VK_F16 ? 2 : 4;
    const int64_t row_bytes = head_dim * es, slot_bytes = n_kv_head * row_bytes;
    const uint8_t *kc = (const uint8_t *)k_cache, *vc = (const uint8_t *)v_cache;
    float scores[VK_ATTN_TILE];
    for (int64_t i = 0; i < nq; i++) {
        const int64_t n = (int64_t)q_pos[i] + 1, lo = vk_window_start(q_pos[i], window);
        for (int64_t h = kvh0 * group; h < kvh1 * group; h++) {
            const int64_t kvh = h / group;
            const float *qh = q + i * q_stride + h * head_dim;
            float *o = out + i * out_stride + h * head_dim;
            for (int64_t d = 0; d < head_dim; d++) o[d] = 0;
            float m = -INFINITY, l = 0;
            for (int64_t p0 = lo - lo % VK_ATTN_TILE; p0 < n; p0 += VK_ATTN_TILE) {
                const int64_t pe = p0 + VK_ATTN_TILE < n ? p0 + VK_ATTN_TILE : n, ps = p0 > lo ? p0 : lo;
                float mt = -INFINITY;
                for (int64_t p = ps; p < pe; p++) {
                    int64_t slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
                    float s = scale * VK_ATTN_DOT(qh, kc + slot * slot_bytes + kvh * row_bytes, kv_type, head_dim);
                    scores[p - p0] = s;
                    if (s > mt) mt = s;
                }
                if (mt > m) {
                    if (m != -INFINITY) {
                        float c = expf(m - mt);
                        l *= c;
                        for (int64_t d = 0; d < head_dim; d++) o[d] *= c;
                    }
                    m = mt;
                }
                for (int64_t p = ps; p < pe; p++) {
                    int64_t slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
                    float e = expf(scores[p - p0] - m);
                    l += e;
                    VK_ATTN_AXPY(o, e, vc + slot * slot_bytes + kvh * row_bytes, kv_type, head_dim);
                }
            }
            const float inv = 1.0f / l;
            for (int64_t d = 0; d < head_dim; d++) o[d] *= inv;
        }
    }
}

