// A virtual user that sends its requests through the worker's pooled client.
#include "worker.hpp"

namespace waitless::loadgen::detail {

io::task<void> pool_user(worker& w, http::client& client, const http::client_request& r) {
    const bool paced = w.setup().setup.rate.has_value();
    const http::body_sink discard = [](std::string_view) { return result<void>{}; };
    while (auto slot = w.next_slot()) {
        if (paced && *slot > clock::now()) co_await w.loop().sleep_until(*slot);
        const auto started = paced ? *slot : clock::now();
        auto response = co_await client.request(r, discard);
        if (!response) {
            w.count_error(response.error(), false);
            const auto kind = classify(response.error(), false);
            if (kind == error_kind::ports_exhausted || kind == error_kind::refused) {
                co_await w.loop().sleep_for(w.setup().setup.connect_error_pause);
            }
            continue;
        }
        w.count_response(started, response->status);
    }
    w.user_done();
}

}  // namespace waitless::loadgen::detail
