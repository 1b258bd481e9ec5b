// What a pool needs from its resources: create, validate, destroy (each may fail or be slow).
#pragma once

#include <concepts>
#include <functional>
#include <utility>

#include "waitless/core/error.hpp"

namespace waitless::pool {

// The pool calls these from its own worker threads, never from acquire(), possibly several at
// once: a factory must be thread-safe. A slow or hung call is abandoned after its timeout.
template <class F, class T>
concept factory_for = std::movable<T> && requires(F& f, T& resource) {
    { f.create() } -> std::same_as<result<T>>;
    { f.validate(resource) } -> std::convertible_to<bool>;
    f.destroy(resource);
};

// A factory from three functions; validate and destroy may be left empty.
template <class T>
struct function_factory {
    function_factory() = default;
    explicit function_factory(std::function<result<T>()> create,
                              std::function<bool(T&)> validate = {},
                              std::function<void(T&)> destroy = {})
        : create_fn(std::move(create)),
          validate_fn(std::move(validate)),
          destroy_fn(std::move(destroy)) {}

    std::function<result<T>()> create_fn;
    std::function<bool(T&)> validate_fn;
    std::function<void(T&)> destroy_fn;

    result<T> create() { return create_fn(); }
    bool validate(T& resource) { return validate_fn ? validate_fn(resource) : true; }
    void destroy(T& resource) {
        if (destroy_fn) destroy_fn(resource);
    }
};

namespace detail {

// A throwing factory must not take a worker thread (and the process) down with it: a validate
// that throws says "not valid", a destroy that throws is done.
template <class Factory, class T>
bool validate_quietly(Factory& factory, T& resource) noexcept {
    try {
        return static_cast<bool>(factory.validate(resource));
    } catch (...) {
        return false;
    }
}
template <class Factory, class T>
void destroy_quietly(Factory& factory, T& resource) noexcept {
    try {
        factory.destroy(resource);
    } catch (...) {
    }
}

}  // namespace detail

}  // namespace waitless::pool
