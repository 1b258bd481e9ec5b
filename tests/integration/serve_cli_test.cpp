// `waitless serve` flags: the listening line, Unix sockets, status, body size, echo, health,
// and one-line errors with exit 3 for bad flags.
#include <gtest/gtest.h>

#include "http_serve_process.hpp"
#include "support/process.hpp"

namespace waitless::test {
namespace {

bool have(const std::string& tool) { return run_shell("command -v " + tool).exit_code == 0; }

TEST(ServeCli, PrintsTheListeningAddressWithTheRealPort) {
    std::string why;
    auto server = serve_process::start("--workers 1", "", &why);
    ASSERT_TRUE(server) << why;
    EXPECT_NE(server->port(), 0);
    EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
    EXPECT_EQ(server->terminate(), 0);
    EXPECT_NE(server->error_text().find("stopped (SIGTERM)"), std::string::npos);
}

TEST(ServeCli, StatusAndBodySizeAndHealth) {
    if (!have("curl")) GTEST_SKIP() << "needs curl";
    std::string why;
    auto server = serve_process::start("--workers 1 --status 503 --body-size 30", "", &why);
    ASSERT_TRUE(server) << why;
    const auto base = "http://" + server->address();
    auto r = run_shell("curl -s -w ' %{http_code}' " + base + "/");
    EXPECT_EQ(r.out, "hello world\nhello world\nhello  503");
    r = run_shell("curl -s -w ' %{http_code}' " + base + "/health");
    EXPECT_EQ(r.out, "ok\n 200");
    r = run_shell("curl -sI " + base + "/");
    EXPECT_NE(r.out.find("Content-Length: 30"), std::string::npos) << r.out;
}

TEST(ServeCli, EchoReturnsTheRequestBody) {
    if (!have("curl")) GTEST_SKIP() << "needs curl";
    std::string why;
    auto server = serve_process::start("--workers 1 --echo", "", &why);
    ASSERT_TRUE(server) << why;
    const auto r = run_shell(
        "head -c 1000000 /dev/urandom > /tmp/waitless-echo-$$ && curl -s "
        "--data-binary @/tmp/waitless-echo-$$ http://" +
        server->address() +
        "/ | cmp - /tmp/waitless-echo-$$; s=$?; rm -f /tmp/waitless-echo-$$; "
        "exit $s");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(ServeCli, ListensOnAUnixSocket) {
    if (!have("curl")) GTEST_SKIP() << "needs curl";
    const std::string path = "/tmp/waitless-serve-" + std::to_string(::getpid()) + ".sock";
    std::string why;
    auto server = serve_process::start("--workers 2 --listen unix:" + path, "", &why);
    ASSERT_TRUE(server) << why;
    const auto r = run_shell("curl -s --unix-socket " + path + " http://x/ http://x/health");
    EXPECT_EQ(r.out, "hello world\nok\n");
    EXPECT_EQ(server->terminate(), 0);
    EXPECT_NE(::access(path.c_str(), F_OK), 0);  // the socket file went with the server
}

// RFC 9110 9.3.6: a 2xx to CONNECT would open a tunnel (and must carry no Content-Length);
// serve is no proxy, so it refuses the method and says which ones it takes.
TEST(ServeCli, ConnectIsNotAllowed) {
    std::string why;
    auto server = serve_process::start("--workers 1", "", &why);
    ASSERT_TRUE(server) << why;
    raw_client client(server->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" +
                            get("/")));
    const auto responses = client.read_responses(2);
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[0].status, 405);
    EXPECT_NE(responses[0].header("allow").find("GET"), std::string::npos);
    EXPECT_EQ(responses[0].header("allow").find("CONNECT"), std::string::npos);
    EXPECT_EQ(responses[1].status, 200);  // the connection stays usable
}

TEST(ServeCli, BadFlagsAreOneLineAndExit3) {
    for (const std::string flags :
         {"--listen nowhere", "--listen 127.0.0.1:70000", "--close-policy sometimes", "--workers 0",
          "--idle-timeout soon", "--status 99", "--bogus"}) {
        SCOPED_TRACE(flags);
        const auto r = run_shell(waitless_binary() + " serve " + flags);
        EXPECT_EQ(r.exit_code, 3);
        EXPECT_TRUE(r.err.starts_with("waitless: error: ")) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

TEST(ServeCli, APortInUseIsAnError) {
    std::string why;
    auto server = serve_process::start("--workers 1", "", &why);
    ASSERT_TRUE(server) << why;
    // Another waitless would join the port's SO_REUSEPORT group; a plain listener holds it.
    const auto r = run_shell(
        "python3 -c \"import socket,subprocess,sys; s=socket.socket(); "
        "s.bind(('127.0.0.1',0)); s.listen(); p=s.getsockname()[1]; "
        "sys.exit(subprocess.run([" +
        std::string("'") + WAITLESS_BIN +
        "','serve','--listen','127.0.0.1:'+str(p)]).returncode)\"");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("waitless: error: cannot listen"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace waitless::test
