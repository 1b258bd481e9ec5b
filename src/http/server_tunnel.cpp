// What a server connection does besides one final response: 1xx interim responses, trailer
// fields, and 101 Switching Protocols followed by a tunnel to another socket.
#include <sys/socket.h>
#include <unistd.h>

#include "http/server_connection.hpp"
#include "http/tunnel.hpp"
#include "waitless/http/error.hpp"
#include "waitless/net/close.hpp"

namespace waitless::http::detail {
namespace {

std::unexpected<std::error_code> misuse(errc e) { return std::unexpected(make_error_code(e)); }

}  // namespace

result<void> connection::informational(int status, std::span<const header_field> fields) {
    if (status < 100 || status > 199 || status == 101) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    if (response_.started) return misuse(errc::response_already_started);
    for (const auto& field : fields) {
        if (!acceptable_field(field)) return misuse(errc::invalid_response_field);
    }
    const auto& head = parser_.head();
    // HTTP/1.0 has no 1xx responses (RFC 9110 15.2): its client would take one as final.
    if (head.version_minor == 0) return {};
    if (status == 100) {
        // One 100 at most, and only to a client that holds its body back for it.
        if (continue_sent_ || !head.expect_continue || body_done_) return {};
        continue_sent_ = true;
    }
    out_.append(status_line(status));
    append_field_lines(out_, fields);
    out_.append("\r\n");
    // Out now: an early hint is worth something only early, and a client waiting for 100
    // sends nothing until it comes. What the socket does not take goes with the next write.
    if (!writing_) (void)flush_now();
    return {};
}

result<void> connection::end(std::span<const header_field> trailers) {
    for (const auto& field : trailers) {
        if (!acceptable_field(field)) return misuse(errc::invalid_response_field);
    }
    // Only a chunked body has a trailer section; otherwise the fields are dropped.
    if (!response_.started || response_.ended || !response_.chunked || response_.head_only ||
        trailers.empty()) {
        end();
        return {};
    }
    response_.ended = true;
    out_.append("0\r\n");
    append_field_lines(out_, trailers);
    out_.append("\r\n");
    return {};
}

bool connection::upgrade_requested() const {
    const auto& head = parser_.head();
    return head.version_minor == 1 && head.framing == body_framing::none &&
           head.find("upgrade").has_value() && head.has_token("connection", "upgrade");
}

result<void> connection::start_switch(std::span<const header_field> fields) {
    if (!upgrade_requested()) return misuse(errc::not_an_upgrade);
    bool names_protocol = false;
    for (const auto& field : fields) {
        if (!acceptable_field(field)) return misuse(errc::invalid_response_field);
        if (iequals(field.name, "upgrade")) names_protocol = true;
    }
    // RFC 9110 15.2.2: a 101 says which protocol the connection switches to.
    if (!names_protocol) return misuse(errc::not_an_upgrade);
    response_.started = response_.ended = true;
    switching_ = true;
    keep_alive_ = false;  // no HTTP after this on the connection
    out_.append("HTTP/1.1 101 Switching Protocols\r\n");
    append_field_lines(out_, fields);
    out_.append(owner_.date_line());
    out_.append("Connection: upgrade\r\n\r\n");
    return {};
}

io::task<result<tunnel_totals>> connection::tunnel(upgraded other) {
    if (!switching_ || tunneled_ || !other.socket) co_return misuse(errc::not_an_upgrade);
    tunneled_ = true;
    tunnel_totals totals;
    if (!co_await flush()) {  // the 101 first
        (void)net::close_with_reset(other.socket.release());
        totals.error = std::make_error_code(std::errc::connection_aborted);
        co_return totals;
    }
    // The server's deadlines (io, idle) are for HTTP; the tunnel has its own idle timeout.
    disarm();
    io::fd_watch other_watch;
    auto added = ensure_registered();
    if (added) added = owner_.loop().add(other.socket.native_handle(), other_watch);
    if (!added) {
        (void)net::close_with_reset(other.socket.release());
        totals.error = added.error();
        co_return totals;
    }
    // What the client sent after its request head (early frames of the new protocol) goes
    // to the other side first.
    const std::string_view early(buffer_.get() + begin_, end_ - begin_);
    begin_ = end_;
    tunnel_control control(owner_.loop(), {socket_.native_handle(), &watch_, early},
                           {other.socket.native_handle(), &other_watch, other.early},
                           owner_.options().idle_timeout);
    tunnel_ = &control;
    if (interrupt_ == interrupt::forced) control.stop(std::make_error_code(std::errc::timed_out));
    co_await relay(control, totals);
    tunnel_ = nullptr;
    tunnel_clean_ = totals.clean;
    tunnel_fin_here_ = !control.client_fin_first;
    // Both FINs went already, or it failed: then an RST tells the other side plainly.
    if (!totals.clean) (void)net::close_with_reset(other.socket.release());
    other.socket.reset();  // before its watch goes
    co_return totals;
}

void connection::stop_tunnel() { tunnel_->stop(std::make_error_code(std::errc::timed_out)); }

void connection::close_tunneled() {
    const int fd = socket_.release();
    if (!peer_) {
        ::close(fd);
        record_close(net::close_outcome::not_tcp);
        return;
    }
    if (!tunnel_clean_) {
        record_close(close_with_reset(fd));
        return;
    }
    // The FINs went both ways in the tunnel: whoever sent the first keeps the TIME_WAIT.
    allow_fin(fd);
    ::close(fd);
    record_close(tunnel_fin_here_ ? net::close_outcome::time_wait_here
                                  : net::close_outcome::time_wait_peer);
}

}  // namespace waitless::http::detail
