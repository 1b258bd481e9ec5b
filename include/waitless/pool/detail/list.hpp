// An intrusive doubly linked list over nodes with prev/next members: O(1) insert and erase,
// no allocation, which is what keeps the acquire/release path free of the heap.
#pragma once

#include <cstddef>

namespace waitless::pool::detail {

template <class Node>
class node_list {
  public:
    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    Node* front() const noexcept { return head_; }
    Node* back() const noexcept { return tail_; }

    void push_front(Node& n) noexcept {
        n.prev = nullptr;
        n.next = head_;
        if (head_ != nullptr) {
            head_->prev = &n;
        } else {
            tail_ = &n;
        }
        head_ = &n;
        ++size_;
    }

    void push_back(Node& n) noexcept {
        n.next = nullptr;
        n.prev = tail_;
        if (tail_ != nullptr) {
            tail_->next = &n;
        } else {
            head_ = &n;
        }
        tail_ = &n;
        ++size_;
    }

    void erase(Node& n) noexcept {
        if (n.prev != nullptr) {
            n.prev->next = n.next;
        } else {
            head_ = n.next;
        }
        if (n.next != nullptr) {
            n.next->prev = n.prev;
        } else {
            tail_ = n.prev;
        }
        n.prev = n.next = nullptr;
        --size_;
    }

  private:
    Node* head_ = nullptr;
    Node* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace waitless::pool::detail
