// The head of a message: start line, header fields, and the framing they decide.
#include "waitless/http/parser.hpp"

#include <cstring>

#include "scan.hpp"

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

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

parser::parser(parser_kind kind, parser_limits limits) : kind_(kind), limits_(limits) {
    fields_.reserve(limits_.max_headers);
    trailers_.reserve(limits_.max_headers);
}

bool parser::in_message() const {
    return (state_ != state::start && state_ != state::ended) || scanned_ > 0;
}

void parser::start_next_message() {
    state_ = state::start;
    scanned_ = 0;
    head_ = {};
    fields_.clear();
    trailers_.clear();
    remaining_ = 0;
    body_received_ = 0;
}

result<std::size_t> parser::find_section_end(std::string_view data, std::size_t limit,
                                             errc too_large) {
    const char* begin = data.data();
    // A start line past its own limit is that error (414), whatever else is too large.
    if (state_ == state::start && data.size() > limits_.max_start_line &&
        std::memchr(begin, '\n', limits_.max_start_line + 1) == nullptr) {
        return fail(kind_ == parser_kind::request ? errc::start_line_too_long
                                                  : errc::bad_status_line);
    }
    std::size_t from = scanned_;
    const std::size_t searchable = std::min(data.size(), limit);
    while (from < searchable) {
        const auto* newline =
            static_cast<const char*>(std::memchr(begin + from, '\n', searchable - from));
        if (newline == nullptr) break;
        const auto i = static_cast<std::size_t>(newline - begin);
        if (i == 0 || data[i - 1] != '\r') return fail(errc::bad_line_ending);
        if (i == 1 || data[i - 2] == '\n') return i + 1;  // an empty line ends the section
        from = i + 1;
    }
    scanned_ = searchable;
    if (data.size() >= limit) return fail(too_large);
    return 0;
}

result<parser::step> parser::parse_head(std::string_view data) {
    std::size_t skipped = 0;
    // RFC 9112 2.2: ignore empty lines before a request line.
    if (kind_ == parser_kind::request && scanned_ == 0) {
        while (data.starts_with("\r\n")) {
            data.remove_prefix(2);
            skipped += 2;
        }
        if (data == "\r") return step{event::need_more, skipped, {}};
    }
    auto end = find_section_end(data, limits_.max_head, errc::head_too_large);
    if (!end) return std::unexpected(end.error());
    if (*end == 0) return step{event::need_more, skipped, {}};

    const std::string_view section = data.substr(0, *end - 2);  // without the empty line
    const auto line_end = section.find("\r\n");
    if (line_end > limits_.max_start_line) {
        return fail(kind_ == parser_kind::request ? errc::start_line_too_long
                                                  : errc::bad_status_line);
    }
    if (auto ok = parse_start_line(section.substr(0, line_end)); !ok) {
        return std::unexpected(ok.error());
    }
    const auto fields =
        line_end == std::string_view::npos ? std::string_view() : section.substr(line_end + 2);
    if (auto ok = parse_fields(fields, fields_, true); !ok) return std::unexpected(ok.error());
    head_.headers = fields_;
    if (auto ok = decide_framing(); !ok) return std::unexpected(ok.error());
    scanned_ = 0;
    return step{event::head, skipped + *end, {}};
}

result<void> parser::parse_start_line(std::string_view line) {
    return kind_ == parser_kind::request ? parse_request_line(line) : parse_status_line(line);
}

result<void> parser::parse_request_line(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && detail::is_token_char(line[i])) ++i;
    if (i == 0 || i == line.size()) return fail(i == 0 ? errc::bad_method : errc::bad_request_line);
    if (line[i] != ' ') return fail(errc::bad_method);
    head_.method = line.substr(0, i);
    const char* target = line.data() + i + 1;
    const char* line_end = line.data() + line.size();
    const char* target_end = detail::find_target_end(target, line_end, limits_.simd);
    if (target_end == target)
        return fail(target < line_end && *target == ' ' ? errc::bad_request_line
                                                        : errc::bad_target);
    if (target_end == line_end) return fail(errc::bad_request_line);  // no version
    if (*target_end != ' ') return fail(errc::bad_target);
    head_.target = std::string_view(target, static_cast<std::size_t>(target_end - target));
    auto version = parse_version(
        std::string_view(target_end + 1, static_cast<std::size_t>(line_end - target_end - 1)));
    if (!version) {
        // "GET / HTTP/1.1 x" or "GET /  HTTP/1.1": extra spaces are malformed lines.
        if (version.error() == errc::bad_version &&
            std::string_view(target_end + 1, static_cast<std::size_t>(line_end - target_end - 1))
                    .find(' ') != std::string_view::npos) {
            return fail(errc::bad_request_line);
        }
        return std::unexpected(version.error());
    }
    head_.version_minor = *version;
    return {};
}

result<void> parser::parse_status_line(std::string_view line) {
    // HTTP-version SP 3DIGIT SP reason-phrase
    if (line.size() < 13 || line[8] != ' ' || line[12] != ' ') return fail(errc::bad_status_line);
    auto version = parse_version(line.substr(0, 8));
    if (!version) return std::unexpected(version.error());
    if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0') {
        return fail(errc::bad_status_line);
    }
    head_.version_minor = *version;
    head_.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    const char* reason = line.data() + 13;
    const char* end = line.data() + line.size();
    if (detail::find_field_control(reason, end, limits_.simd) != end) {
        return fail(errc::bad_status_line);
    }
    head_.reason = std::string_view(reason, static_cast<std::size_t>(end - reason));
    return {};
}

result<void> parser::parse_fields(std::string_view section, std::vector<header_field>& out,
                                  bool first_is_start) {
    const char* p = section.data();
    const char* end = section.data() + section.size();
    bool first = true;
    // Every line here ends with CRLF: find_section_end() has checked each LF.
    while (p < end) {
        if (*p == ' ' || *p == '\t') {
            return fail(first && first_is_start ? errc::leading_whitespace
                                                : errc::obsolete_line_folding);
        }
        first = false;
        const char* name = p;
        while (p < end && detail::is_token_char(*p)) ++p;
        if (p == end) return fail(errc::bad_header_name);
        if (*p != ':') {
            return fail(p != name && (*p == ' ' || *p == '\t') ? errc::whitespace_before_colon
                                                               : errc::bad_header_name);
        }
        if (p == name) return fail(errc::bad_header_name);
        const std::string_view field_name(name, static_cast<std::size_t>(p - name));
        ++p;
        const char* value = p;
        const char* stop = detail::find_field_control(value, end, limits_.simd);
        // The first control character must be the CR of this line's CRLF.
        if (end - stop < 2 || stop[0] != '\r' || stop[1] != '\n') {
            return fail(stop < end && *stop == '\r' ? errc::bad_line_ending
                                                    : errc::bad_header_value);
        }
        if (out.size() >= limits_.max_headers) return fail(errc::too_many_headers);
        out.push_back(
            {field_name, trim(std::string_view(value, static_cast<std::size_t>(stop - value)))});
        p = stop + 2;
    }
    return {};
}

}  // namespace waitless::http
