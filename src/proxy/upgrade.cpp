// A 101 from the backend to an upgrade request: the 101 goes to the client, and the proxy
// becomes a byte tunnel between the client and the backend's connection (which never was, and
// never will be, in the pool).
#include "forward.hpp"

namespace waitless::proxy::detail {
namespace {

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// RFC 9110 7.8: the 101's Upgrade names the protocol switched to, which must be one the client
// listed ("websocket", or "name/version").
bool offered_was_asked(std::string_view asked, std::string_view offered) {
    const auto protocol = trimmed(offered.substr(0, offered.find(',')));
    if (protocol.empty()) return false;
    while (!asked.empty()) {
        const auto comma = asked.find(',');
        if (http::iequals(trimmed(asked.substr(0, comma)), protocol)) return true;
        if (comma == std::string_view::npos) break;
        asked.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

io::task<void> switch_protocols(worker_state& w, http::exchange& ex, http::client_stream& stream) {
    auto& k = w.counters;
    const auto& response = stream.head();
    const auto offered = response.find("upgrade");
    const auto asked = ex.request().find("upgrade");
    if (!offered || !asked || !offered_was_asked(*asked, *offered)) {
        k.bad_gateway.add();  // dropping the stream resets the backend's connection
        co_await reply(ex, 502, "bad gateway: the upstream switched to a protocol not asked for\n");
        co_return;
    }
    std::vector<http::header_field> fields;
    build_response_fields(response.headers(), fields);  // Upgrade goes as a hop-by-hop field
    fields.push_back({"Upgrade", *offered});
    if (!ex.start(101, fields, std::nullopt)) {
        k.bad_gateway.add();
        co_await reply(ex, 502, "bad gateway: the upstream switch cannot be relayed\n");
        co_return;
    }
    auto other = stream.take_upgraded();
    if (!other) {
        k.bad_gateway.add();
        ex.abort();
        co_return;
    }
    k.responses_relayed.add();
    k.tunnels.add();
    // How it ends (clean, idle timeout, reset) shows in the client side's close counters.
    (void)co_await ex.tunnel(std::move(*other));
}

}  // namespace waitless::proxy::detail
