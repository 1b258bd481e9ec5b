// A descriptor that the io_context's own reactor watches for as long as this object lives,
// calling back on every readable edge. Asio's public async_wait() re-arms the descriptor with
// an epoll_ctl() on every wait: one more syscall per turn of the worker's loop, which at a few
// requests per turn costs about 2% of the server's CPU. This registers once, the way Asio
// registers its own internal descriptors (its interrupter), with an operation that never
// completes: the reactor asks it on every edge and it answers "not done".
//
// Asio's detail API, used by name: checked against the versions Debian ships.
#pragma once

#include <asio/detail/reactor.hpp>
#include <asio/detail/reactor_op.hpp>
#include <asio/io_context.hpp>
#include <asio/version.hpp>
#include <cstddef>
#include <system_error>

static_assert(ASIO_VERSION >= 101800 && ASIO_VERSION < 102300,
              "reactor_watch uses Asio's reactor internals as of 1.18 to 1.22: check them");

namespace waitless::http::detail {

class reactor_watch {
  public:
    using callback = void (*)(void* target);

    // fd stays owned by the caller and must outlive this object; so must the context.
    reactor_watch(asio::io_context& context, int fd, callback on_readable, void* target)
        : reactor_(asio::use_service<asio::detail::reactor>(context)), fd_(fd) {
        auto* op = new persistent_op(on_readable, target);
        const int error =
            reactor_.register_internal_descriptor(asio::detail::reactor::read_op, fd_, data_, op);
        if (error != 0) throw std::system_error(error, std::generic_category(), "reactor_watch");
    }
    ~reactor_watch() { stop(); }
    reactor_watch(const reactor_watch&) = delete;
    reactor_watch& operator=(const reactor_watch&) = delete;

    // No more callbacks from here on.
    void stop() {
        if (fd_ < 0) return;
        reactor_.deregister_internal_descriptor(fd_, data_);  // destroys the operation
        reactor_.cleanup_descriptor_data(data_);
        fd_ = -1;
    }

  private:
    class persistent_op final : public asio::detail::reactor_op {
      public:
        persistent_op(callback on_readable, void* target)
            : reactor_op(std::error_code(), &persistent_op::perform_edge, &persistent_op::finish),
              on_readable_(on_readable),
              target_(target) {}

      private:
        static status perform_edge(reactor_op* base) {
            auto* self = static_cast<persistent_op*>(base);
            self->on_readable_(self->target_);
            return not_done;  // stays queued for the next edge
        }
        // Only reached when the reactor lets go of the operation (deregistered, shut down).
        static void finish(void*, asio::detail::scheduler_operation* base, const std::error_code&,
                           std::size_t) {
            delete static_cast<persistent_op*>(base);
        }

        callback on_readable_;
        void* target_;
    };

    asio::detail::reactor& reactor_;
    asio::detail::reactor::per_descriptor_data data_ = nullptr;
    int fd_;
};

}  // namespace waitless::http::detail
