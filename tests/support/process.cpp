#include "support/process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace waitless::test {
namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace

process_result run_shell(const std::string& command) {
    char out_path[] = "/tmp/waitless-test-out-XXXXXX";
    char err_path[] = "/tmp/waitless-test-err-XXXXXX";
    const int out_fd = ::mkstemp(out_path);
    const int err_fd = ::mkstemp(err_path);
    process_result result;
    if (out_fd < 0 || err_fd < 0) return result;
    ::close(out_fd);
    ::close(err_fd);
    const std::string full = "(" + command + ") >" + out_path + " 2>" + err_path + " </dev/null";
    const int status = std::system(full.c_str());
    if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (status != -1 && WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
    result.out = slurp(out_path);
    result.err = slurp(err_path);
    ::unlink(out_path);
    ::unlink(err_path);
    return result;
}

std::string waitless_binary() { return std::string("'") + WAITLESS_BIN + "'"; }

}  // namespace waitless::test
