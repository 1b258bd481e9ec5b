// Drives the parser the way a connection does, and keeps copies of what it produced.
#pragma once

#include <string>
#include <system_error>
#include <vector>

#include "waitless/http/parser.hpp"

namespace waitless::http::test {

struct parsed_message {
    std::string method, target, authority, reason;
    target_form form = target_form::origin;
    int status = 0;
    int version_minor = 0;
    std::vector<std::pair<std::string, std::string>> headers, trailers;
    std::string body;
    body_framing framing = body_framing::none;
    bool keep_alive = false;
    bool expect_continue = false;
    friend bool operator==(const parsed_message&, const parsed_message&) = default;
};

struct parse_outcome {
    std::vector<parsed_message> messages;
    std::error_code error;
    std::size_t leftover = 0;  // bytes not consumed at the end
    friend bool operator==(const parse_outcome&, const parse_outcome&) = default;
};

struct harness_options {
    parser_kind kind = parser_kind::request;
    parser_limits limits{};
    bool response_to_head = false;
    bool peer_closes = false;  // call finish() after the last byte
};

// Feeds `pieces` one after the other; each piece's bytes are placed right before an
// unreadable page, so any read past what the parser was given crashes the test.
parse_outcome feed(const std::vector<std::string>& pieces, const harness_options& options);

inline parse_outcome feed(const std::string& text, const harness_options& options = {}) {
    return feed(std::vector<std::string>{text}, options);
}

// The same input split at every offset into two pieces, and byte by byte: every way must
// give the one-piece outcome. Returns that outcome; adds a failure for any difference.
parse_outcome feed_every_split(const std::string& text, const harness_options& options = {});

}  // namespace waitless::http::test
