#include "parser_harness.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace waitless::http::test {
namespace {

// Memory whose end is followed by a PROT_NONE page.
class guarded_memory {
  public:
    explicit guarded_memory(std::size_t size) {
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        pages_ = (size + page - 1) / page + 1;
        length_ = pages_ * page;
        void* base =
            ::mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT_NE(base, MAP_FAILED);
        base_ = static_cast<char*>(base);
        ::mprotect(base_ + length_ - page, page, PROT_NONE);
        end_ = base_ + length_ - page;
    }
    ~guarded_memory() { ::munmap(base_, length_); }
    // The bytes copied so that the last one sits right before the guard page.
    std::string_view place(std::string_view bytes) {
        char* start = end_ - bytes.size();
        std::memcpy(start, bytes.data(), bytes.size());
        return {start, bytes.size()};
    }

  private:
    std::size_t pages_ = 0;
    std::size_t length_ = 0;
    char* base_ = nullptr;
    char* end_ = nullptr;
};

std::vector<std::pair<std::string, std::string>> copy(std::span<const header_field> fields) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& f : fields) out.emplace_back(f.name, f.value);
    return out;
}

}  // namespace

parse_outcome feed(const std::vector<std::string>& pieces, const harness_options& options) {
    parser p(options.kind, options.limits);
    p.expect_response_to_head(options.response_to_head);
    parse_outcome outcome;
    std::string buffer;  // the unconsumed bytes, as a connection's read buffer keeps them
    std::size_t total = 0;
    for (const auto& piece : pieces) total += piece.size();
    guarded_memory memory(total + 1);
    parsed_message current;
    for (const auto& piece : pieces) {
        buffer += piece;
        for (;;) {
            const auto view = memory.place(buffer);
            auto step = p.parse(view);
            if (!step) {
                outcome.error = step.error();
                return outcome;
            }
            if (step->what == parser::event::head) {
                const auto& h = p.head();
                current = {};
                current.method = h.method;
                current.target = h.target;
                current.form = h.form;
                current.authority = h.authority;
                current.reason = h.reason;
                current.status = h.status;
                current.version_minor = h.version_minor;
                current.headers = copy(h.headers);
                current.framing = h.framing;
                current.keep_alive = h.keep_alive;
                current.expect_continue = h.expect_continue;
            } else if (step->what == parser::event::body) {
                current.body += step->body;
            } else if (step->what == parser::event::end) {
                current.trailers = copy(p.trailers());
                outcome.messages.push_back(current);
            }
            buffer.erase(0, step->consumed);
            if (step->what == parser::event::need_more) break;
        }
    }
    if (options.peer_closes) {
        auto ended = p.finish();
        if (!ended) {
            outcome.error = ended.error();
            return outcome;
        }
        if (*ended) {
            auto step = p.parse({});
            EXPECT_TRUE(step && step->what == parser::event::end);
            outcome.messages.push_back(current);
        }
    }
    outcome.leftover = buffer.size();
    return outcome;
}

parse_outcome feed_every_split(const std::string& text, const harness_options& options) {
    const auto whole = feed(text, options);
    for (std::size_t at = 1; at < text.size(); ++at) {
        const auto split = feed({text.substr(0, at), text.substr(at)}, options);
        EXPECT_EQ(split, whole) << "split at " << at << " of:\n" << text;
        if (split != whole) break;
    }
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    EXPECT_EQ(feed(bytes, options), whole) << "byte by byte:\n" << text;
    return whole;
}

}  // namespace waitless::http::test
