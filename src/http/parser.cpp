// The head of a message and trailer sections: start line and header fields, line by line.
#include "waitless/http/parser.hpp"

#include <algorithm>
#include <cstring>

#include "scan.hpp"
#include "target.hpp"

namespace waitless::http {

namespace {

std::unexpected<std::error_code> fail(errc e) { return std::unexpected(make_error_code(e)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "HTTP/" DIGIT "." DIGIT; minor versions above 1 are served as 1.1 (RFC 9110 2.5).
result<int> parse_version(std::string_view text) {
    if (text.size() != 8 || !text.starts_with("HTTP/") || !is_digit(text[5]) || text[6] != '.' ||
        !is_digit(text[7])) {
        return fail(errc::bad_version);
    }
    if (text[5] != '1') return fail(errc::version_not_supported);
    return text[7] == '0' ? 0 : 1;
}

// The version of a request line, or as much of it as has come: judged byte by byte, so that
// bytes that cannot begin a version are an error at once. 1 for an incomplete one.
result<int> check_request_version(std::string_view text, bool complete) {
    if (complete) {
        if (auto version = parse_version(text)) return version;  // the usual case, at once
    }
    static constexpr std::string_view shape = "HTTP/#.#";
    for (std::size_t k = 0; k < text.size(); ++k) {
        const char c = text[k];
        if (k < shape.size() && (shape[k] == '#' ? is_digit(c) : c == shape[k])) continue;
        // "GET /  HTTP/1.1" or "GET / HTTP/1.1 x": extra spaces are malformed lines.
        if (c == ' ') return fail(errc::bad_request_line);
        return fail(c == '\r' ? errc::bad_line_ending : errc::bad_version);
    }
    if (!complete) return 1;
    return parse_version(text);
}

// Content-Length: 1*DIGIT, and it must fit (19 digits always do in 64 bits).
result<std::uint64_t> parse_content_length(std::string_view text) {
    if (text.empty() || text.size() > 19) return fail(errc::bad_content_length);
    std::uint64_t value = 0;
    for (char c : text) {
        if (!is_digit(c)) return fail(errc::bad_content_length);
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

parser::parser(parser_kind kind, parser_limits limits) : kind_(kind), limits_(limits) {
    // Room for a usual head; more is made as needed and kept. (Reserving max_headers would
    // cost every idle connection a few KiB.)
    fields_.reserve(std::min<std::size_t>(limits_.max_headers, 16));
}

bool parser::in_message() const {
    return (state_ != state::start && state_ != state::ended) || scan_.scanned > 0;
}

void parser::start_next_message() {
    state_ = state::start;
    scan_ = {};
    head_ = {};
    fields_.clear();
    trailers_.clear();
    remaining_ = 0;
    body_received_ = 0;
}

result<std::size_t> parser::scan_section(std::string_view data, section which,
                                         std::vector<header_field>& out) {
    const std::size_t limit = limits_.max_head;
    const std::size_t searchable = std::min(data.size(), limit);
    const char* begin = data.data();
    const char* data_end = begin + data.size();
    auto& s = scan_;
    for (;;) {
        const bool start_line = which == section::head && s.lines == 0;
        if (!start_line) {
            auto next = take_plain_field_line(data, s.line_start, searchable, which, out);
            if (!next) return std::unexpected(next.error());
            if (*next > 0) {
                s.scanned = s.line_start = *next;
                ++s.lines;
                continue;
            }
        }
        // A start line past its own limit is that error (414), whatever else is too large.
        const std::size_t bound =
            start_line ? std::min(searchable, limits_.max_start_line + 1) : searchable;
        const auto* newline =
            s.scanned < bound
                ? static_cast<const char*>(std::memchr(begin + s.scanned, '\n', bound - s.scanned))
                : nullptr;
        if (newline == nullptr) {
            // The line so far, without a last CR that may begin its CRLF. Judged again on each
            // read until it is complete: at most a line's length, within the head's limit.
            auto partial = data.substr(s.line_start, bound - s.line_start);
            if (partial.ends_with('\r')) partial.remove_suffix(1);
            if (auto ok = check_line({partial, false, data_end}, which, out); !ok) {
                return std::unexpected(ok.error());
            }
            s.scanned = bound;
            if (start_line && data.size() > limits_.max_start_line) {
                return fail(kind_ == parser_kind::request ? errc::start_line_too_long
                                                          : errc::bad_status_line);
            }
            if (data.size() >= limit) return fail(errc::head_too_large);
            return 0;
        }
        const auto i = static_cast<std::size_t>(newline - begin);
        auto line = data.substr(s.line_start, i - s.line_start);
        if (!line.ends_with('\r')) {
            // A bare LF. The bytes before it are judged first, as if it had not come yet.
            if (auto ok = check_line({line, false, data_end}, which, out); !ok) {
                return std::unexpected(ok.error());
            }
            return fail(errc::bad_line_ending);
        }
        line.remove_suffix(1);
        s.scanned = s.line_start = i + 1;
        if (line.empty() && !start_line) return i + 1;  // the empty line ends the section
        if (auto ok = check_line({line, true, data_end}, which, out); !ok) {
            return std::unexpected(ok.error());
        }
        ++s.lines;
    }
}

result<std::size_t> parser::rescan_section(std::string_view data, section which,
                                           std::vector<header_field>& out) {
    scan_ = {};
    out.clear();
    return scan_section(data, which, out);
}

result<parser::step> parser::parse_head(std::string_view data) {
    // Asked after every keep-alive response, before the next request has come.
    if (data.empty()) return step{event::need_more, 0, {}};
    std::size_t skipped = 0;
    // RFC 9112 2.2: ignore empty lines before a request line.
    if (kind_ == parser_kind::request && scan_.scanned == 0) {
        while (data.starts_with("\r\n")) {
            data.remove_prefix(2);
            skipped += 2;
        }
        if (data == "\r") return step{event::need_more, skipped, {}};
    }
    const bool resumed = scan_.scanned > 0;
    auto end = scan_section(data, section::head, fields_);
    if (!end) return std::unexpected(end.error());
    if (*end == 0) return step{event::need_more, skipped, {}};
    if (resumed) end = rescan_section(data, section::head, fields_);  // same outcome, new views
    if (!end) return std::unexpected(end.error());
    head_.headers = fields_;
    if (auto ok = decide_framing(); !ok) return std::unexpected(ok.error());
    scan_ = {};
    return step{event::head, skipped + *end, {}};
}

result<void> parser::check_line(const line_ref& line, section which,
                                std::vector<header_field>& out) {
    if (which == section::head && scan_.lines == 0) {
        if (kind_ == parser_kind::request) return check_request_line(line);
        return line.complete ? check_status_line(line.text) : result<void>{};
    }
    return check_field_line(line, which, out);
}

result<void> parser::check_request_line(const line_ref& ref) {
    const std::string_view line = ref.text;
    const bool complete = ref.complete;
    std::size_t i = 0;
    while (i < line.size() && detail::is_token_char(line[i])) ++i;
    if (i == line.size()) {
        if (!complete) return {};
        return fail(i == 0 ? errc::bad_method : errc::bad_request_line);
    }
    if (i == 0 || line[i] != ' ') return fail(errc::bad_method);
    const char* target = line.data() + i + 1;
    const char* line_end = line.data() + line.size();
    const char* target_end = detail::find_target_end(target, line_end, limits_.simd);
    if (target_end == line_end) {
        if (!complete) return {};
        // "GET" SP CRLF, or no version.
        return fail(target_end == target ? errc::bad_target : errc::bad_request_line);
    }
    if (target_end == target)
        return fail(*target == ' ' ? errc::bad_request_line : errc::bad_target);
    if (*target_end != ' ') return fail(errc::bad_target);
    auto version = check_request_version(
        std::string_view(target_end + 1, static_cast<std::size_t>(line_end - target_end - 1)),
        complete);
    if (!version) return std::unexpected(version.error());
    if (!complete) return {};
    head_.method = line.substr(0, i);
    head_.target = std::string_view(target, static_cast<std::size_t>(target_end - target));
    head_.version_minor = *version;
    // The form of the target decides it for the method; Host is checked against it later.
    const auto form = detail::classify_target(head_.method, head_.target);
    if (!form) return fail(errc::bad_target);
    head_.form = form->form;
    head_.authority = form->authority;
    return {};
}

result<void> parser::check_status_line(std::string_view line) {
    // HTTP-version SP 3DIGIT SP reason-phrase. Clients accept "HTTP/1.1 200" without the
    // second SP (RFC 9112 4 requires it), so this one does too.
    if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
        return fail(errc::bad_status_line);
    }
    auto version = parse_version(line.substr(0, 8));
    if (!version) return std::unexpected(version.error());
    if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0') {
        return fail(errc::bad_status_line);
    }
    head_.version_minor = *version;
    head_.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    const auto reason = line.substr(std::min<std::size_t>(line.size(), 13));
    const char* end = reason.data() + reason.size();
    if (detail::find_field_control(reason.data(), end, limits_.simd) != end) {
        return fail(errc::bad_status_line);
    }
    head_.reason = reason;
    return {};
}

result<void> parser::note_head_field(std::string_view name, std::string_view value) {
    // By length first: most fields are none of these, and a length rules them out.
    switch (name.size()) {
        case 4:
            if (iequals(name, "host")) {
                ++scan_.hosts;
                scan_.host = value;
            }
            break;
        case 6:
            if (iequals(name, "expect")) scan_.expect = true;
            break;
        case 10:
            if (iequals(name, "connection")) {
                ++scan_.connections;
                scan_.connection = value;
            }
            break;
        case 14:
            if (iequals(name, "content-length")) {
                // Strict: a second Content-Length is an error even with the same value (RFC
                // 9112 6.3 lets a recipient fold equal ones; two parsers that disagree on it
                // cannot both be right), and it is one as soon as its line is here.
                if (++scan_.content_lengths > 1) return fail(errc::duplicate_content_length);
                auto length = parse_content_length(value);
                if (!length) return std::unexpected(length.error());
                head_.content_length = *length;
            }
            break;
        case 17:
            if (iequals(name, "transfer-encoding")) scan_.transfer_encoding = true;
            break;
        default:
            break;
    }
    return {};
}

result<std::size_t> parser::take_plain_field_line(std::string_view data, std::size_t at,
                                                  std::size_t bound, section which,
                                                  std::vector<header_field>& out) {
    const char* name = data.data() + at;
    const char* end = data.data() + bound;
    const char* p = name;
    while (p < end && detail::is_token_char(*p)) ++p;
    if (p == name || p == end || *p != ':') return 0;
    const char* value = p + 1;
    // The first control character: the line's CR when all is well, followed by its LF.
    const char* stop = detail::find_field_control(value, end, limits_.simd);
    if (end - stop < 2 || stop[0] != '\r' || stop[1] != '\n') return 0;
    if (out.size() >= limits_.max_headers) return 0;  // the error is check_field_line()'s
    if (auto ok = add_field({name, static_cast<std::size_t>(p - name)},
                            {value, static_cast<std::size_t>(stop - value)}, which, out);
        !ok) {
        return std::unexpected(ok.error());
    }
    return static_cast<std::size_t>(stop + 2 - data.data());
}

result<void> parser::check_field_line(const line_ref& ref, section which,
                                      std::vector<header_field>& out) {
    const std::string_view line = ref.text;
    const bool complete = ref.complete;
    if (line.empty()) return {};  // a line that has not begun (a complete one ends the section)
    const bool first = scan_.lines == (which == section::head ? 1 : 0);
    if (line.front() == ' ' || line.front() == '\t') {
        return fail(first && which == section::head ? errc::leading_whitespace
                                                    : errc::obsolete_line_folding);
    }
    const char* p = line.data();
    const char* end = line.data() + line.size();
    const char* name = p;
    while (p < end && detail::is_token_char(*p)) ++p;
    if (p == end) return complete ? fail(errc::bad_header_name) : result<void>{};
    if (*p != ':') {
        return fail(p != name && (*p == ' ' || *p == '\t') ? errc::whitespace_before_colon
                                                           : errc::bad_header_name);
    }
    if (p == name) return fail(errc::bad_header_name);
    const std::string_view field_name(name, static_cast<std::size_t>(p - name));
    const char* value = p + 1;
    // The line's own CRLF is not part of it: any control character before it is an error. The
    // scan may run on past the line (to its CR, or the trailing CR of a partial one), so that it
    // goes 16 bytes at a time to the end.
    const char* stop = detail::find_field_control(value, ref.readable_end, limits_.simd);
    if (stop < end) return fail(*stop == '\r' ? errc::bad_line_ending : errc::bad_header_value);
    if (!complete) return {};
    if (out.size() >= limits_.max_headers) return fail(errc::too_many_headers);
    return add_field(field_name, {value, static_cast<std::size_t>(end - value)}, which, out);
}

// Inlined into both field-line paths: a call here cost about 200 instructions per proxied
// request (bench/proxy_instructions.sh).
[[gnu::always_inline]] inline result<void> parser::add_field(std::string_view name,
                                                             std::string_view raw_value,
                                                             section which,
                                                             std::vector<header_field>& out) {
    const auto value = trim(raw_value);
    if (which == section::head) {
        if (auto ok = note_head_field(name, value); !ok) return ok;
    }
    out.push_back({name, value});
    return {};
}

}  // namespace waitless::http
