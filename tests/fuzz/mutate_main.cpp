// Drives a libFuzzer-style target without libFuzzer: every seed input once, then
// --mutations N random mutations of them (bit flips, byte changes, insertions, deletions,
// splices of two seeds), from a fixed seed so that a failure repeats. A target aborts on
// any broken oracle.
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using bytes = std::vector<std::uint8_t>;

const bytes* current = nullptr;

// On an abort, the input that caused it goes to ./fuzz-crash-input for replay.
extern "C" void save_current(int) {
    if (current != nullptr) {
        if (std::FILE* out = std::fopen("fuzz-crash-input", "wb")) {
            std::fwrite(current->data(), 1, current->size(), out);
            std::fclose(out);
        }
        std::fputs("input saved to fuzz-crash-input\n", stderr);
    }
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
}

void run(const bytes& input) {
    current = &input;
    // An exact-size heap copy, so that a sanitizer sees a read past the end.
    auto* copy = static_cast<std::uint8_t*>(std::malloc(input.size() + 1));
    std::memcpy(copy, input.data(), input.size());
    LLVMFuzzerTestOneInput(copy, input.size());
    std::free(copy);
}

bytes mutate(const std::vector<bytes>& seeds, std::mt19937& random) {
    bytes out = seeds[random() % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 4);
    static constexpr std::uint8_t interesting[] = {'\r', '\n', ' ',  '\t', ':', ';', '0',
                                                   'f',  0,    0x7f, 0xff, ',', '"'};
    for (int e = 0; e < edits; ++e) {
        const std::size_t at = out.empty() ? 0 : random() % out.size();
        switch (random() % 6) {
            case 0:
                if (!out.empty()) out[at] ^= static_cast<std::uint8_t>(1u << (random() % 8));
                break;
            case 1:
                if (!out.empty()) out[at] = interesting[random() % sizeof interesting];
                break;
            case 2:
                out.insert(out.begin() + static_cast<long>(at),
                           interesting[random() % sizeof interesting]);
                break;
            case 3:
                if (!out.empty()) out.erase(out.begin() + static_cast<long>(at));
                break;
            case 4: {  // duplicate a run: repeated headers, chunks, messages
                if (out.size() < 2) break;
                const std::size_t length =
                    1 + random() % std::min<std::size_t>(out.size() - at, 40);
                const bytes run_copy(out.begin() + static_cast<long>(at),
                                     out.begin() + static_cast<long>(at + length));
                out.insert(out.begin() + static_cast<long>(at), run_copy.begin(), run_copy.end());
                break;
            }
            default: {  // splice in the tail of another seed
                const auto& other = seeds[random() % seeds.size()];
                if (other.empty()) break;
                const std::size_t from = random() % other.size();
                out.resize(at);
                out.insert(out.end(), other.begin() + static_cast<long>(from), other.end());
            }
        }
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    long mutations = 0;
    std::vector<bytes> seeds;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--mutations") == 0 && i + 1 < argc) {
            mutations = std::strtol(argv[++i], nullptr, 10);
            continue;
        }
        std::vector<std::filesystem::path> files;
        if (std::filesystem::is_directory(argv[i])) {
            for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
                files.push_back(entry.path());
            }
        } else {
            files.emplace_back(argv[i]);
        }
        for (const auto& file : files) {
            std::ifstream in(file, std::ios::binary);
            seeds.emplace_back(std::istreambuf_iterator<char>(in),
                               std::istreambuf_iterator<char>());
        }
    }
    if (seeds.empty()) {
        std::fprintf(stderr, "usage: %s [--mutations N] CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 1;
    }
    std::signal(SIGABRT, save_current);
    for (const auto& seed : seeds) run(seed);
    std::mt19937 random(20261124);
    for (long m = 0; m < mutations; ++m) run(mutate(seeds, random));
    std::printf("ran %zu seeds and %ld mutations\n", seeds.size(), mutations);
    return 0;
}
