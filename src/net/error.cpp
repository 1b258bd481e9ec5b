#include "waitless/net/error.hpp"

#include <string>

namespace waitless::net {
namespace {

std::string_view describe(errc e) {
    switch (e) {
        case errc::connect_timeout:
            return "connect timed out";
        case errc::data_would_be_lost:
            return "abortive close refused: data would be lost";
        case errc::stale:
            return "connection is stale: the peer closed, reset or sent data";
        case errc::not_open:
            return "socket is not open";
        case errc::address_mismatch:
            return "source and destination families differ";
        case errc::path_too_long:
            return "unix socket path too long";
        case errc::accept_timeout:
            return "no connection to accept in time";
    }
    return "unknown net error";
}

}  // namespace

const std::error_category& category() {
    static const core::enum_category<errc> instance("waitless.net", describe);
    return instance;
}

std::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

}  // namespace waitless::net
