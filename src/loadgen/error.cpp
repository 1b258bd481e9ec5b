#include "waitless/loadgen/error.hpp"

#include <string_view>

namespace waitless::loadgen {
namespace {

std::string_view describe(errc e) {
    switch (e) {
        case errc::bad_url:
            return "expected http://host[:port][/path] or unix:/path/to/socket";
        case errc::bad_duration:
            return "expected a duration such as 10s, 500ms, 2m or 1h";
        case errc::bad_header:
            return "expected a header as 'Name: value'";
        case errc::bad_mode:
            return "expected short, server-close, keepalive or pool";
        case errc::resolve_failed:
            return "the host name did not resolve";
        case errc::unsupported:
            return "pool mode needs an http:// URL (the pooled client has no Unix sockets)";
        case errc::bad_response:
            return "bad response";
    }
    return "unknown loadgen error";
}

}  // namespace

const std::error_category& category() {
    static const core::enum_category<errc> instance("waitless.loadgen", describe);
    return instance;
}

std::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

}  // namespace waitless::loadgen
