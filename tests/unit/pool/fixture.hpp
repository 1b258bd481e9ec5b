// Shared by the pool tests: a scriptable factory (counts, failures, gates that hold calls) and
// helpers that wait for the pool's worker threads without fixed sleeps.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "waitless/pool/pool.hpp"

namespace waitless::pool::testing {

using namespace std::chrono_literals;

// Holds factory calls while closed; counts who is held, so a test knows a call is in flight.
class gate {
  public:
    void close() {
        std::lock_guard lk(m_);
        open_ = false;
    }
    void open() {
        {
            std::lock_guard lk(m_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void pass() {
        std::unique_lock lk(m_);
        ++held_;
        cv_.wait(lk, [&] { return open_; });
        --held_;
    }
    int held() {
        std::lock_guard lk(m_);
        return held_;
    }

  private:
    std::mutex m_;
    std::condition_variable cv_;
    bool open_ = true;
    int held_ = 0;
};

// Shared-owned, so a factory call the pool abandoned can still finish safely after the test.
struct factory_script {
    std::atomic<int> next_id{0};
    std::atomic<int> creates{0};
    std::atomic<int> destroys{0};
    std::atomic<int> validations{0};
    std::atomic<bool> fail_create{false};
    std::atomic<bool> throw_create{false};
    std::atomic<bool> validate_ok{true};
    gate create_gate;
    gate validate_gate;
    gate destroy_gate;
};

// Resources are ints numbered from 1 in creation order.
struct test_factory {
    std::shared_ptr<factory_script> script = std::make_shared<factory_script>();

    result<int> create() {
        script->create_gate.pass();
        if (script->throw_create) throw std::runtime_error("factory exploded");
        if (script->fail_create)
            return std::unexpected(std::make_error_code(std::errc::connection_refused));
        ++script->creates;
        return ++script->next_id;
    }
    bool validate(int&) {
        script->validate_gate.pass();
        ++script->validations;
        return script->validate_ok.load();
    }
    void destroy(int&) {
        script->destroy_gate.pass();
        ++script->destroys;
    }
};

using test_pool = pool<int, test_factory>;

// Options for tests driven by hand: no background thread, a manual clock.
inline options manual_options(const manual_clock& clk, std::size_t max = 4) {
    options o;
    o.max = max;
    o.clock = &clk;
    o.maintenance_interval = 0s;
    return o;
}

// Polls `done` until it holds or a generous limit passes (loaded 2-core machines are slow).
template <class Done>
bool eventually(Done done, std::chrono::milliseconds limit = 20s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// Moves hand-driven time once no factory call is in flight, so a call is never timed out
// just because the test jumped the clock while a worker was busy with it.
template <class Pool>
void advance(Pool& p, manual_clock& clk, duration d) {
    ASSERT_TRUE(eventually([&] { return p.stats().jobs == 0; }));
    clk.advance(d);
}

// The closing check of every test: drain, then every resource created was destroyed.
template <class Pool>
void expect_balanced(Pool& p) {
    ASSERT_TRUE(p.drain(20s));
    const auto st = p.stats();
    EXPECT_EQ(st.size, 0u);
    EXPECT_EQ(st.created, st.destroyed);
}

}  // namespace waitless::pool::testing
