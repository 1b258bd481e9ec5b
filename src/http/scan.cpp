#include "scan.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>

#include <cstdint>
#include <cstring>
#endif

namespace waitless::http::detail {

const char* find_field_control_scalar(const char* p, const char* end) {
    while (p < end && !is_field_control(*p)) ++p;
    return p;
}

const char* find_target_end_scalar(const char* p, const char* end) {
    while (p < end && !ends_target(*p)) ++p;
    return p;
}

#if defined(__SSE2__)

namespace {

// Bytes <= limit, unsigned: max(b, limit) == limit.
inline __m128i at_most(__m128i bytes, char limit) {
    const __m128i l = _mm_set1_epi8(limit);
    return _mm_cmpeq_epi8(_mm_max_epu8(bytes, l), l);
}

// Bytes >= limit, unsigned: max(b, limit) == b.
inline __m128i at_least(__m128i bytes, char limit) {
    return _mm_cmpeq_epi8(_mm_max_epu8(bytes, _mm_set1_epi8(limit)), bytes);
}

// The first byte in [at, at + width) that mask() marks, or nullptr; `bytes` holds them in its
// low `width` bytes.
template <class Mask>
const char* first_marked(const char* at, __m128i bytes, unsigned width, Mask mask) {
    auto bits = static_cast<unsigned>(_mm_movemask_epi8(mask(bytes)));
    if (width < 16) bits &= (1u << width) - 1;
    return bits != 0 ? at + __builtin_ctz(bits) : nullptr;
}

// 16 bytes at a time; what is left, in loads that end at `end` and overlap bytes already
// scanned (those are unmarked, so the first mark found is the first of the rest). Strings
// shorter than 16 bytes take two overlapping 8- or 4-byte loads, or bytes one by one below 4.
template <class Mask, class Scalar>
const char* scan(const char* p, const char* end, Mask mask, Scalar scalar) {
    const char* const begin = p;
    while (end - p >= 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if (const char* at = first_marked(p, bytes, 16, mask)) return at;
        p += 16;
    }
    if (p == end) return end;
    if (end - begin >= 16) {
        const char* last = end - 16;
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(last));
        const char* at = first_marked(last, bytes, 16, mask);
        return at != nullptr ? at : end;
    }
    const auto n = static_cast<std::size_t>(end - p);
    const auto load = [](const char* at, std::size_t width) {
        if (width == 8) return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(at));
        std::int32_t word;
        std::memcpy(&word, at, sizeof word);
        return _mm_cvtsi32_si128(word);
    };
    if (n < 4) return scalar(p, end);
    const std::size_t width = n >= 8 ? 8 : 4;
    if (const char* at = first_marked(p, load(p, width), static_cast<unsigned>(width), mask))
        return at;
    const char* last = end - width;
    const char* at = first_marked(last, load(last, width), static_cast<unsigned>(width), mask);
    return at != nullptr ? at : end;
}

}  // namespace

const char* find_field_control_simd(const char* p, const char* end) {
    return scan(
        p, end,
        [](__m128i b) {
            const __m128i control =
                _mm_andnot_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8('\t')), at_most(b, 0x1f));
            return _mm_or_si128(control, _mm_cmpeq_epi8(b, _mm_set1_epi8(0x7f)));
        },
        find_field_control_scalar);
}

const char* find_target_end_simd(const char* p, const char* end) {
    return scan(
        p, end, [](__m128i b) { return _mm_or_si128(at_most(b, 0x20), at_least(b, 0x7f)); },
        find_target_end_scalar);
}

#else

const char* find_field_control_simd(const char* p, const char* end) {
    return find_field_control_scalar(p, end);
}
const char* find_target_end_simd(const char* p, const char* end) {
    return find_target_end_scalar(p, end);
}

#endif

}  // namespace waitless::http::detail
