// The 16-byte scans agree with the byte-at-a-time ones on every byte value and position.
#include "http/scan.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "waitless/http/message.hpp"

namespace waitless::http::detail {
namespace {

TEST(Scan, IequalsFoldsLettersOnlyForEveryPairOfBytes) {
    // The bit trick must not fold '^' with '~', '@' with '`' or any other non-letter pair.
    // Names of 8 bytes or more go 8 at a time: every pair at every position of those lengths.
    auto lower = [](int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
    for (std::size_t length : {2, 7, 8, 9, 16, 17}) {
        for (std::size_t at = 0; at < length; ++at) {
            std::string x(length, 'k');
            std::string y(length, 'K');
            for (int a = 0; a < 256; ++a) {
                for (int b = 0; b < 256; ++b) {
                    x[at] = static_cast<char>(a);
                    y[at] = static_cast<char>(b);
                    ASSERT_EQ(iequals(x, y), lower(a) == lower(b))
                        << a << " " << b << " at " << at << " of " << length;
                }
            }
        }
    }
    EXPECT_TRUE(iequals("Transfer-Encoding", "transfer-encoding"));
    EXPECT_FALSE(iequals("Transfer-Encodinh", "transfer-encoding"));
    EXPECT_FALSE(iequals("transfer-encoding", "Uransfer-encoding"));
    EXPECT_FALSE(iequals("host", "hos"));
    EXPECT_TRUE(iequals("", ""));
}

TEST(Scan, SimdAndScalarAgreeOnEveryByteAtEveryPosition) {
    for (int byte = 0; byte < 256; ++byte) {
        // Every short length (the 4- and 8-byte loads, their overlap) and the 16-byte ones.
        for (std::size_t length = 1; length <= 100; length += (length < 40 ? 1 : 30)) {
            for (std::size_t at = 0; at < length; ++at) {
                std::string text(length, 'a');
                text[at] = static_cast<char>(byte);
                const char* b = text.data();
                const char* e = b + text.size();
                ASSERT_EQ(find_field_control_simd(b, e), find_field_control_scalar(b, e))
                    << byte << " at " << at << " of " << length;
                ASSERT_EQ(find_target_end_simd(b, e), find_target_end_scalar(b, e))
                    << byte << " at " << at << " of " << length;
                // A second one at the end: the first is still the one found.
                text.back() = static_cast<char>(byte);
                ASSERT_EQ(find_field_control_simd(b, e), find_field_control_scalar(b, e))
                    << byte << " at " << at << " and the end of " << length;
                ASSERT_EQ(find_target_end_simd(b, e), find_target_end_scalar(b, e))
                    << byte << " at " << at << " and the end of " << length;
            }
        }
    }
}

TEST(Scan, ClassesFollowTheRfc) {
    EXPECT_FALSE(is_field_control('\t'));
    EXPECT_TRUE(is_field_control('\r'));
    EXPECT_TRUE(is_field_control('\0'));
    EXPECT_TRUE(is_field_control('\x7f'));
    EXPECT_FALSE(is_field_control('\x80'));  // obs-text is allowed in values
    EXPECT_TRUE(ends_target(' '));
    EXPECT_TRUE(ends_target('\x80'));
    EXPECT_FALSE(ends_target('~'));
    EXPECT_TRUE(is_token_char('!'));
    EXPECT_FALSE(is_token_char('('));
    EXPECT_FALSE(is_token_char(':'));
    EXPECT_TRUE(is_token("X-Forwarded-For"));
    EXPECT_TRUE(is_token("a_b.c~"));
    EXPECT_FALSE(is_token(""));
    EXPECT_FALSE(is_token("Bad Name"));
    EXPECT_FALSE(has_field_control("text/plain; q=1\t"));
    EXPECT_TRUE(has_field_control("a\r\nInjected: 1"));
}

TEST(Scan, RandomInputsAgree) {
    std::mt19937 random(42);
    for (int round = 0; round < 2000; ++round) {
        std::string text(random() % 80, 'x');
        for (auto& c : text) c = static_cast<char>(0x20 + random() % 0x60);
        if (!text.empty() && random() % 2)
            text[random() % text.size()] = static_cast<char>(random() % 256);
        const char* b = text.data();
        const char* e = b + text.size();
        ASSERT_EQ(find_field_control_simd(b, e), find_field_control_scalar(b, e)) << text;
        ASSERT_EQ(find_target_end_simd(b, e), find_target_end_scalar(b, e)) << text;
    }
}

}  // namespace
}  // namespace waitless::http::detail
