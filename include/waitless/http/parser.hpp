// A strict, incremental, zero-copy HTTP/1.1 parser for requests and responses.
//
// The caller owns the buffer. parse() looks at the unconsumed bytes, returns one step and
// how many bytes it used; the caller drops those bytes (after it is done with a head, whose
// views point into them) and calls again. Strict per RFC 9110/9112: whatever could let two
// parsers disagree on where a message ends is an error, and the connection must be closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "waitless/core/error.hpp"
#include "waitless/http/error.hpp"
#include "waitless/http/message.hpp"

namespace waitless::http {

struct parser_limits {
    std::size_t max_start_line = 8 * 1024;  // request or status line
    std::size_t max_head = 16 * 1024;       // start line and header fields (or trailers)
    std::size_t max_headers = 100;          // header (or trailer) fields
    std::size_t max_chunk_line = 1024;      // chunk size with its extensions
    std::uint64_t max_body = std::numeric_limits<std::uint64_t>::max();
    bool simd = true;  // scan 16 bytes at a time where the CPU can (tests turn it off)
};

enum class parser_kind { request, response };

class parser {
  public:
    enum class event {
        need_more,  // nothing complete yet: read more, keep the unconsumed bytes
        head,       // head() is ready; its views point into the bytes just consumed
        body,       // step::body holds body bytes (views into the input)
        end,        // the message is complete; the parser is ready for the next one
    };
    struct step {
        event what = event::need_more;
        std::size_t consumed = 0;
        std::string_view body;
    };

    explicit parser(parser_kind kind, parser_limits limits = {});

    // For a response parser: the request it answers was HEAD, so it has no body.
    void expect_response_to_head(bool yes) { response_to_head_ = yes; }

    result<step> parse(std::string_view data);
    // The peer closed the connection: true if that ended a close-delimited body, false if no
    // message was in progress, partial_message if one was cut short.
    result<bool> finish();

    const message_head& head() const { return head_; }
    // The trailer fields of a chunked message, valid at event::end within the same input.
    std::span<const header_field> trailers() const { return trailers_; }
    // Whether bytes of a message have been taken (the connection is not between messages).
    bool in_message() const;
    std::uint64_t body_received() const { return body_received_; }

  private:
    enum class state {
        start,
        body_length,
        chunk_line,
        chunk_data,
        chunk_data_end,
        trailers,
        until_close,
        done,
        ended
    };

    // How far the header section being read has been checked. Each line is checked when its
    // LF comes and the incomplete last line as far as it goes, so an error is found with the
    // byte that makes it one, whatever the reads were.
    struct section_scan {
        std::size_t scanned = 0;     // bytes looked at
        std::size_t line_start = 0;  // of the line not yet complete
        std::size_t lines = 0;       // complete lines checked
        std::size_t content_lengths = 0;
        // The head's fields that framing looks at, noted as their lines are checked, so that
        // deciding it needs no second pass over every field.
        std::size_t hosts = 0;
        std::string_view host;  // the last Host value
        bool transfer_encoding = false;
        std::size_t connections = 0;
        std::string_view connection;  // the last Connection value
        bool expect = false;
    };
    enum class section { head, trailers };

    result<step> parse_head(std::string_view data);
    // Where the header section that starts at data[0] ends (after its empty line), or 0. Its
    // fields are added to `out` as their lines are checked.
    result<std::size_t> scan_section(std::string_view data, section which,
                                     std::vector<header_field>& out);
    // Scans a section that has come whole, over again, when earlier reads saw some of it: the
    // fields kept then point into bytes that may have moved.
    result<std::size_t> rescan_section(std::string_view data, section which,
                                       std::vector<header_field>& out);
    struct line_ref {
        std::string_view text;  // without its CRLF
        bool complete;  // false: the start of a line, judged only on what no later byte changes
        const char* readable_end;  // of the input: scans 16 bytes at a time may look past text
    };
    result<void> check_line(const line_ref& line, section which, std::vector<header_field>& out);
    result<void> check_request_line(const line_ref& line);
    result<void> check_status_line(std::string_view line);
    result<void> check_field_line(const line_ref& line, section which,
                                  std::vector<header_field>& out);
    // The usual field line at data[at], whole and valid before `bound`, read in one pass (the
    // scan for its CR finds the line's end too): the offset of the next line, with the field
    // added. 0 for anything else, which check_field_line() then judges.
    result<std::size_t> take_plain_field_line(std::string_view data, std::size_t at,
                                              std::size_t bound, section which,
                                              std::vector<header_field>& out);
    // A checked field line's name and value (its whitespace trimmed here) into `out`, noted
    // for framing when it is a head's.
    result<void> add_field(std::string_view name, std::string_view raw_value, section which,
                           std::vector<header_field>& out);
    // Notes a head field framing needs (Content-Length is read here: a second one is an error
    // at its own line).
    result<void> note_head_field(std::string_view name, std::string_view value);
    result<void> decide_framing();
    // A response to HEAD, 1xx, 204 and 304 have no body whatever their fields say.
    bool response_has_body() const;
    result<step> parse_chunk_line(std::string_view data);
    result<step> parse_trailers(std::string_view data);
    void start_next_message();

    parser_kind kind_;
    parser_limits limits_;
    bool response_to_head_ = false;
    state state_ = state::start;
    section_scan scan_;  // of an incomplete head or trailer section
    message_head head_;
    std::vector<header_field> fields_;    // kept: no allocation per message once warm
    std::vector<header_field> trailers_;  // likewise
    std::uint64_t remaining_ = 0;         // of the body or of the current chunk
    std::uint64_t body_received_ = 0;
};

}  // namespace waitless::http
