// libFuzzer target for the HTTP parser. Oracles: no crash or overread (ASan), and the same
// outcome whether the input comes in one piece or two, with SIMD scans or without.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "waitless/http/parser.hpp"

namespace {

using waitless::http::parser;
using waitless::http::parser_kind;
using waitless::http::parser_limits;

// What a run produced, reduced to something comparable.
std::string run(parser_kind kind, bool simd, std::string_view input, std::size_t split) {
    parser_limits limits;
    limits.simd = simd;
    limits.max_head = 4096;
    limits.max_headers = 32;
    parser p(kind, limits);
    std::string trace;
    std::string body;  // pieces depend on the split: joined until the next event
    std::string buffer;
    auto flush_body = [&] {
        if (!body.empty()) trace += "body:" + std::to_string(body.size()) + ":" + body + ";";
        body.clear();
    };
    for (std::string_view piece : {input.substr(0, split), input.substr(split)}) {
        buffer += piece;
        for (;;) {
            // A fresh heap copy of exactly the unconsumed bytes: ASan sees any overread.
            std::vector<char> exact(buffer.begin(), buffer.end());
            auto step = p.parse(std::string_view(exact.data(), exact.size()));
            if (step && step->what == parser::event::body) {
                body += step->body;
                buffer.erase(0, step->consumed);
                continue;
            }
            if (step && step->what == parser::event::need_more) {
                buffer.erase(0, step->consumed);
                break;
            }
            flush_body();
            if (!step) return trace + "error:" + step.error().message();
            if (step->consumed > buffer.size()) std::abort();
            if (step->what == parser::event::head) {
                const auto& h = p.head();
                trace += "head:" + std::string(h.method) + " " + std::string(h.target) + " " +
                         std::to_string(h.status) + ";";
                for (const auto& f : h.headers) {
                    trace += std::string(f.name) + "=" + std::string(f.value) + ";";
                }
            } else if (step->what == parser::event::end) {
                trace += "end;";
            }
            buffer.erase(0, step->consumed);
            if (step->what == parser::event::need_more) break;
        }
    }
    flush_body();
    auto finished = p.finish();
    return trace + (finished ? (*finished ? "closed-end" : "idle") : "cut");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);
    for (auto kind : {parser_kind::request, parser_kind::response}) {
        const auto whole = run(kind, true, input, input.size());
        if (run(kind, true, input, split) != whole) std::abort();
        if (run(kind, false, input, split) != whole) std::abort();
    }
    return 0;
}
