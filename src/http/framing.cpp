// Where a message's body ends: Content-Length, chunked (with trailers), or the close.
#include <cctype>
#include <charconv>
#include <cstring>

#include "scan.hpp"
#include "target.hpp"
#include "waitless/http/parser.hpp"

namespace waitless::http {
namespace {

std::unexpected<std::error_code> fail(errc e) { return std::unexpected(make_error_code(e)); }

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool is_token(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text) {
        if (!detail::is_token_char(c)) return false;
    }
    return true;
}

bool known_coding(std::string_view coding) {
    for (std::string_view known : {"gzip", "x-gzip", "deflate", "compress", "x-compress"}) {
        if (iequals(coding, known)) return true;
    }
    return false;
}

// Transfer-Encoding fields, all of them, as one list. true: chunked is last.
result<bool> check_transfer_codings(std::span<const header_field> fields) {
    bool chunked_seen = false;
    bool last_is_chunked = false;
    for (const auto& field : fields) {
        if (!iequals(field.name, "transfer-encoding")) continue;
        std::string_view list = field.value;
        for (;;) {
            const auto comma = list.find(',');
            const auto element = trim(list.substr(0, comma));
            if (!element.empty()) {
                const auto semicolon = element.find(';');
                const auto name = trim(element.substr(0, semicolon));
                if (iequals(name, "chunked")) {
                    if (semicolon != std::string_view::npos)
                        return fail(errc::unknown_transfer_coding);
                    if (chunked_seen) return fail(errc::chunked_twice);
                    chunked_seen = true;
                    last_is_chunked = true;
                } else if (is_token(name) && known_coding(name)) {
                    last_is_chunked = false;
                } else {
                    return fail(errc::unknown_transfer_coding);
                }
            }
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }
    if (chunked_seen && !last_is_chunked) return fail(errc::chunked_not_last);
    return last_is_chunked;
}

}  // namespace

bool parser::response_has_body() const {
    return !response_to_head_ && head_.status >= 200 && head_.status != 204 && head_.status != 304;
}

result<void> parser::decide_framing() {
    const bool request = kind_ == parser_kind::request;
    // Content-Length was read and counted with its line (a second one is an error there).
    // Host and Transfer-Encoding were noted with their lines too.
    const std::size_t lengths = scan_.content_lengths;
    const std::size_t hosts = scan_.hosts;
    const bool transfer_encoding = scan_.transfer_encoding;
    const std::string_view host = scan_.host;
    if (request) {
        if (hosts > 1) return fail(errc::duplicate_host);
        if (hosts == 0 && head_.version_minor == 1) return fail(errc::missing_host);
        if (hosts == 1 && !detail::valid_authority(host, false)) return fail(errc::bad_host);
        // A target with an authority and a Host that names another (RFC 9112 3.2: a client
        // sends the same): which one a server or proxy would follow is not for us to guess.
        if (hosts == 1 &&
            (head_.form == target_form::absolute || head_.form == target_form::authority)) {
            if (!iequals(host, head_.authority)) return fail(errc::host_mismatch);
        }
        if (transfer_encoding && head_.version_minor == 0) {
            return fail(errc::transfer_encoding_in_http10);
        }
    }
    // One Connection field, the usual case, is read where its line noted it.
    const auto connection_has = [this](std::string_view token) {
        if (scan_.connections == 1) return list_has_token(scan_.connection, token);
        return scan_.connections > 1 && head_.has_token("connection", token);
    };
    head_.keep_alive =
        head_.version_minor == 1 ? !connection_has("close") : connection_has("keep-alive");
    // RFC 9110 10.1.1: a server ignores 100-continue in an HTTP/1.0 request.
    if (request && head_.version_minor == 1 && scan_.expect) {
        head_.expect_continue = head_.has_token("expect", "100-continue");
    }
    if (!request && transfer_encoding && head_.version_minor == 0) {
        // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing, even
        // with a Content-Length: its body runs to the close, and the connection goes with it.
        head_.keep_alive = false;
        head_.framing = response_has_body() ? body_framing::until_close : body_framing::none;
        state_ = head_.framing == body_framing::none ? state::done : state::until_close;
        return {};
    }
    if (transfer_encoding && lengths > 0) return fail(errc::content_length_with_transfer_encoding);

    bool chunked = false;
    if (transfer_encoding) {
        auto last_is_chunked = check_transfer_codings(fields_);
        // A response whose codings do not end in chunked runs until the close (RFC 9112
        // 6.3); a request like that cannot be framed at all.
        if (!last_is_chunked) {
            if (request || last_is_chunked.error() != errc::chunked_not_last) {
                return std::unexpected(last_is_chunked.error());
            }
        } else {
            chunked = *last_is_chunked;
            if (!chunked && request) return fail(errc::chunked_not_last);
        }
    }

    if (!request && !response_has_body()) {
        head_.framing = body_framing::none;
    } else if (chunked) {
        head_.framing = body_framing::chunked;
    } else if (lengths > 0) {
        if (head_.content_length > limits_.max_body) return fail(errc::body_too_large);
        head_.framing =
            head_.content_length > 0 ? body_framing::content_length : body_framing::none;
    } else if (!request) {
        head_.framing = body_framing::until_close;
        head_.keep_alive = false;
    } else {
        head_.framing = body_framing::none;
    }
    remaining_ = head_.content_length;
    switch (head_.framing) {
        case body_framing::none:
            state_ = state::done;
            break;
        case body_framing::content_length:
            state_ = state::body_length;
            break;
        case body_framing::chunked:
            state_ = state::chunk_line;
            break;
        case body_framing::until_close:
            state_ = state::until_close;
            break;
    }
    return {};
}

result<parser::step> parser::parse(std::string_view data) {
    if (state_ == state::ended) start_next_message();
    std::size_t consumed = 0;
    // Framing lines produce no event: keep going until there is one, or no more bytes.
    for (;;) {
        const auto rest = data.substr(consumed);
        switch (state_) {
            case state::start: {
                auto head = parse_head(rest);
                if (!head) return head;
                head->consumed += consumed;
                return head;
            }
            case state::done:
                state_ = state::ended;  // head() and trailers() stay readable until then
                return step{event::end, consumed, {}};
            case state::ended:
                return step{event::need_more, consumed, {}};  // not reached: reset above
            case state::body_length:
            case state::chunk_data:
            case state::until_close: {
                if (rest.empty()) return step{event::need_more, consumed, {}};
                auto n = rest.size();
                if (state_ != state::until_close)
                    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
                if (body_received_ + n > limits_.max_body) return fail(errc::body_too_large);
                body_received_ += n;
                if (state_ != state::until_close) {
                    remaining_ -= n;
                    if (remaining_ == 0) {
                        state_ = state_ == state::body_length ? state::done : state::chunk_data_end;
                    }
                }
                return step{event::body, consumed + n, rest.substr(0, n)};
            }
            case state::chunk_data_end: {
                if (!rest.empty() && rest[0] != '\r') return fail(errc::bad_chunk_end);
                if (rest.size() < 2) return step{event::need_more, consumed, {}};
                if (rest[1] != '\n') return fail(errc::bad_chunk_end);
                consumed += 2;
                state_ = state::chunk_line;
                break;
            }
            case state::chunk_line: {
                auto line = parse_chunk_line(rest);
                if (!line) return line;
                if (line->consumed == 0) return step{event::need_more, consumed, {}};
                consumed += line->consumed;
                break;
            }
            case state::trailers: {
                auto trailers = parse_trailers(rest);
                if (!trailers) return trailers;
                if (trailers->consumed == 0) return step{event::need_more, consumed, {}};
                consumed += trailers->consumed;
                state_ = state::ended;
                return step{event::end, consumed, {}};
            }
        }
    }
}

result<parser::step> parser::parse_chunk_line(std::string_view data) {
    const auto newline = data.substr(0, limits_.max_chunk_line + 1).find('\n');
    if (newline == std::string_view::npos) {
        if (data.size() > limits_.max_chunk_line) return fail(errc::chunk_line_too_long);
        return step{event::need_more, 0, {}};
    }
    if (newline == 0 || data[newline - 1] != '\r') return fail(errc::bad_line_ending);
    const std::string_view line = data.substr(0, newline - 1);
    std::size_t i = 0;
    while (i < line.size() && line[i] == '0') ++i;  // leading zeros carry no size
    const std::size_t significant = i;
    std::uint64_t size = 0;
    while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) ++i;
    if (i == 0) return fail(errc::bad_chunk_size);
    if (i - significant > 16) return fail(errc::chunk_size_overflow);
    if (i > significant) {
        std::from_chars(line.data() + significant, line.data() + i, size, 16);
    }
    // chunk-ext: *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] )
    std::string_view ext = line.substr(i);
    const auto after_bws = ext.find_first_not_of(" \t");
    if (after_bws != std::string_view::npos && ext[after_bws] != ';') {
        return fail(after_bws == 0 ? errc::bad_chunk_size : errc::bad_chunk_extension);
    }
    if (after_bws == std::string_view::npos && !ext.empty()) return fail(errc::bad_chunk_extension);
    if (detail::find_field_control(ext.data(), ext.data() + ext.size(), limits_.simd) !=
        ext.data() + ext.size()) {
        return fail(errc::bad_chunk_extension);
    }
    while (!ext.empty()) {
        ext = trim(ext);
        if (ext.empty() || ext.front() != ';') return fail(errc::bad_chunk_extension);
        ext = trim(ext.substr(1));
        std::size_t n = 0;
        while (n < ext.size() && detail::is_token_char(ext[n])) ++n;
        if (n == 0) return fail(errc::bad_chunk_extension);
        ext = trim(ext.substr(n));
        if (ext.empty() || ext.front() == ';') continue;
        if (ext.front() != '=') return fail(errc::bad_chunk_extension);
        ext = trim(ext.substr(1));
        if (!ext.empty() && ext.front() == '"') {
            std::size_t q = 1;
            while (q < ext.size() && ext[q] != '"') q += ext[q] == '\\' ? 2 : 1;
            if (q >= ext.size()) return fail(errc::bad_chunk_extension);
            ext.remove_prefix(q + 1);
        } else {
            n = 0;
            while (n < ext.size() && detail::is_token_char(ext[n])) ++n;
            if (n == 0) return fail(errc::bad_chunk_extension);
            ext.remove_prefix(n);
        }
    }
    if (size == 0) {
        state_ = state::trailers;
    } else {
        if (body_received_ + size > limits_.max_body || size > limits_.max_body) {
            return fail(errc::body_too_large);
        }
        remaining_ = size;
        state_ = state::chunk_data;
    }
    return step{event::need_more, newline + 1, {}};
}

result<parser::step> parser::parse_trailers(std::string_view data) {
    const bool resumed = scan_.scanned > 0;
    auto end = scan_section(data, section::trailers, trailers_);
    if (!end) return std::unexpected(end.error());
    if (*end == 0) return step{event::need_more, 0, {}};
    if (resumed) end = rescan_section(data, section::trailers, trailers_);  // new views
    if (!end) return std::unexpected(end.error());
    scan_ = {};
    return step{event::end, *end, {}};
}

result<bool> parser::finish() {
    if (state_ == state::until_close) {
        state_ = state::done;
        return true;
    }
    if (state_ == state::done || !in_message()) return false;
    return fail(errc::partial_message);
}

}  // namespace waitless::http
