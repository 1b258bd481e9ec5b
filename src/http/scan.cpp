#include "scan.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
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

template <class Mask, class Scalar>
const char* scan(const char* p, const char* end, Mask mask, Scalar scalar) {
    while (end - p >= 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const int bits = _mm_movemask_epi8(mask(bytes));
        if (bits != 0) return p + __builtin_ctz(static_cast<unsigned>(bits));
        p += 16;
    }
    return scalar(p, end);
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
