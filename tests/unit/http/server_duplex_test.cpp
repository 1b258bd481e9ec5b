// Full duplex: a handler that reads its request body and writes its response at once, both far
// larger than the socket buffers. A client that writes all before it reads only finishes if the
// server keeps reading while its own writes wait; a slow reader must not stall the reading.
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>

#include "integration/http_serve_process.hpp"
#include "unit/http/running_server.hpp"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t body_size = 16 << 20;

// FNV-1a, 64 bits: enough to tell that 16 MiB arrived in order and whole.
struct digest {
    std::uint64_t value = 14695981039346656037ull;
    void add(std::string_view bytes) {
        for (unsigned char c : bytes) value = (value ^ c) * 1099511628211ull;
    }
};

char pattern_byte(std::size_t i, unsigned salt) {
    return static_cast<char>((i * 131 + salt + (i >> 12)) & 0xff);
}

std::string pattern(std::size_t from, std::size_t size, unsigned salt) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = pattern_byte(from + i, salt);
    return out;
}

// Reads the request body (to a digest) while writing 16 MiB of its own; then the digest's 16
// hex digits end the response.
io::task<void> duplex_handler(exchange& ex) {
    (void)ex.start(200, {}, body_size + 16);
    digest received;
    bool read_ok = true;
    auto reader = [](exchange& e, digest& d, bool& ok) -> io::task<void> {
        for (;;) {
            auto piece = co_await e.read_body();
            if (!piece) {
                ok = false;
                co_return;
            }
            if (piece->empty()) co_return;
            d.add(*piece);
        }
    };
    auto writer = [](exchange& e) -> io::task<void> {
        for (std::size_t at = 0; at < body_size; at += 64 * 1024) {
            if (!co_await e.write(pattern(at, 64 * 1024, 7))) co_return;
        }
    };
    co_await io::when_all(reader(ex, received, read_ok), writer(ex));
    if (!read_ok) co_return;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(received.value));
    co_await ex.write(std::string_view(hex, 16));
    ex.end();
}

// A blocking client on its own socket: sends the whole request, then reads the response.
class duplex_client {
  public:
    explicit duplex_client(std::uint16_t port) : raw_(port) {}

    bool send_request() {
        const std::string request_head =
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body_size) +
            "\r\n\r\n";
        if (!raw_.send(request_head)) return false;
        for (std::size_t at = 0; at < body_size; at += 1 << 20) {
            const auto piece = pattern(at, 1 << 20, 3);
            sent_.add(piece);
            if (!raw_.send(piece)) return false;
        }
        return true;
    }

    // Reads the whole response body; `pause` between reads makes a slow reader.
    void read_response(std::chrono::milliseconds pause, std::size_t read_size) {
        std::string buffer;
        char chunk[1 << 16];
        const auto give_up = std::chrono::steady_clock::now() + 60s;
        std::size_t header_end = std::string::npos;
        while (std::chrono::steady_clock::now() < give_up) {
            pollfd pf{raw_.fd(), POLLIN, 0};
            if (::poll(&pf, 1, 1000) != 1) continue;
            const auto n = ::recv(raw_.fd(), chunk, std::min(read_size, sizeof chunk), 0);
            if (n <= 0) break;
            buffer.append(chunk, static_cast<std::size_t>(n));
            if (header_end == std::string::npos) {
                header_end = buffer.find("\r\n\r\n");
                if (header_end != std::string::npos) {
                    head = buffer.substr(0, header_end);
                    buffer.erase(0, header_end + 4);
                }
            }
            if (header_end != std::string::npos) {
                // Checked as it comes, so 16 MiB are never held twice.
                const std::size_t checkable = std::min(buffer.size(), body_size - body_checked);
                for (std::size_t i = 0; i < checkable; ++i) {
                    if (buffer[i] != pattern_byte(body_checked + i, 7)) mismatches++;
                }
                body_checked += checkable;
                buffer.erase(0, checkable);
                if (body_checked == body_size && buffer.size() >= 16) {
                    trailer = buffer.substr(0, 16);
                    return;
                }
            }
            if (pause.count() > 0) std::this_thread::sleep_for(pause);
        }
    }

    std::string expected_trailer() const {
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(sent_.value));
        return hex;
    }

    std::string head, trailer;
    std::size_t body_checked = 0;
    std::size_t mismatches = 0;

  private:
    test::raw_client raw_;
    digest sent_;
};

TEST(HttpServerDuplex, AClientThatWritesAllBeforeItReadsGetsItsWholeAnswer) {
    running_server rs(duplex_handler);
    duplex_client c(rs.port);
    ASSERT_TRUE(c.send_request());  // 16 MiB in while 16 MiB wait to go out
    c.read_response(0ms, 1 << 16);
    EXPECT_TRUE(c.head.starts_with("HTTP/1.1 200")) << c.head;
    EXPECT_EQ(c.body_checked, body_size);
    EXPECT_EQ(c.mismatches, 0u);
    EXPECT_EQ(c.trailer, c.expected_trailer());
}

TEST(HttpServerDuplex, ASlowReaderStillHasItsBodyRead) {
    running_server rs(duplex_handler);
    duplex_client c(rs.port);
    std::thread writer([&] { EXPECT_TRUE(c.send_request()); });
    c.read_response(1ms, 256 * 1024);  // about 64 pauses a MiB
    writer.join();
    EXPECT_EQ(c.body_checked, body_size);
    EXPECT_EQ(c.mismatches, 0u);
    EXPECT_EQ(c.trailer, c.expected_trailer());
}

}  // namespace
}  // namespace waitless::http
