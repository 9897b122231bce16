#include "factory/template_fetch.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/template.hpp"
#include "support/test_http_server.hpp"

namespace imagefactory {
namespace {

constexpr std::string_view kTemplate = "<template version=\"1.0\"><name>fetched</name></template>";

// A port on 127.0.0.1 that nothing listens on: bound once to get a free number, then closed.
int closedPort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    close(fd);
    return ntohs(address.sin_port);
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

TEST(TemplateFetchTest, ReturnsTemplateBody) {
    TestHttpServer server([](const std::string& path) {
        return path == "/t.tdl" ? httpResponse(200, kTemplate) : httpResponse(404, "");
    });
    Result<std::string> body = fetchTemplateUrl(server.url("/t.tdl"), 5, kMaxTemplateBytes);
    ASSERT_TRUE(body.ok()) << body.error().message;
    EXPECT_EQ(*body, kTemplate);
}

TEST(TemplateFetchTest, ReportsNotFound) {
    TestHttpServer server([](const std::string&) { return httpResponse(404, "no such file"); });
    std::string url = server.url("/missing.tdl");
    Result<std::string> body = fetchTemplateUrl(url, 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::NotFound);
    EXPECT_TRUE(contains(body.error().message, "404")) << body.error().message;
    EXPECT_TRUE(contains(body.error().message, url)) << body.error().message;
}

TEST(TemplateFetchTest, ReportsServerError) {
    TestHttpServer server([](const std::string&) { return httpResponse(503, "busy"); });
    Result<std::string> body = fetchTemplateUrl(server.url("/t.tdl"), 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::ToolFailure);
    EXPECT_TRUE(contains(body.error().message, "HTTP status 503")) << body.error().message;
}

TEST(TemplateFetchTest, RejectsBodyThatIsNoTemplate) {
    TestHttpServer server(
        [](const std::string&) { return httpResponse(200, "<html>not a template</html>"); });
    Result<std::string> body = fetchTemplateUrl(server.url("/index.html"), 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::UserInput);
    EXPECT_TRUE(contains(body.error().message, "not a usable template")) << body.error().message;
    EXPECT_TRUE(contains(body.error().message, "<html>")) << body.error().message;
}

TEST(TemplateFetchTest, RejectsOversizeAnnouncedBody) {
    std::string big =
        "<template><description>" + std::string(2 << 20, 'a') + "</description></template>";
    TestHttpServer server([&big](const std::string&) { return httpResponse(200, big); });
    Result<std::string> body = fetchTemplateUrl(server.url("/big.tdl"), 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::UserInput);
    EXPECT_TRUE(contains(body.error().message, "larger than the limit of 1048576 bytes"))
        << body.error().message;
}

TEST(TemplateFetchTest, AbortsOversizeStreamedBody) {
    // Without Content-Length the limit can only be enforced while the body arrives.
    std::string big =
        "<template><description>" + std::string(2 << 20, 'a') + "</description></template>";
    TestHttpServer server([&big](const std::string&) {
        return "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big;
    });
    Result<std::string> body = fetchTemplateUrl(server.url("/big.tdl"), 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::UserInput);
    EXPECT_TRUE(contains(body.error().message, "larger than the limit of 1048576 bytes"))
        << body.error().message;
}

TEST(TemplateFetchTest, TimesOutOnSilentServer) {
    TestHttpServer server([](const std::string&) { return std::string(); });
    Result<std::string> body = fetchTemplateUrl(server.url("/slow.tdl"), 1, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::Unavailable);
    EXPECT_TRUE(contains(body.error().message, "timed out after 1 s")) << body.error().message;
    EXPECT_TRUE(contains(body.error().message, server.url("/slow.tdl"))) << body.error().message;
}

TEST(TemplateFetchTest, ReportsUnreachablePort) {
    std::string url = "http://127.0.0.1:" + std::to_string(closedPort()) + "/t.tdl";
    Result<std::string> body = fetchTemplateUrl(url, 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::Unavailable);
    EXPECT_TRUE(contains(body.error().message, "could not connect")) << body.error().message;
    EXPECT_TRUE(contains(body.error().message, url)) << body.error().message;
}

TEST(TemplateFetchTest, FollowsRedirect) {
    TestHttpServer server([](const std::string& path) {
        if (path == "/old.tdl") {
            return httpResponse(302, "", "Location: /new.tdl\r\n");
        }
        return httpResponse(200, kTemplate);
    });
    Result<std::string> body = fetchTemplateUrl(server.url("/old.tdl"), 5, kMaxTemplateBytes);
    ASSERT_TRUE(body.ok()) << body.error().message;
    EXPECT_EQ(*body, kTemplate);
}

TEST(TemplateFetchTest, StopsRedirectLoop) {
    TestHttpServer server(
        [](const std::string&) { return httpResponse(302, "", "Location: /again\r\n"); });
    Result<std::string> body = fetchTemplateUrl(server.url("/again"), 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::UserInput);
    EXPECT_TRUE(contains(body.error().message, "more than 5 redirects")) << body.error().message;
}

TEST(TemplateFetchTest, RejectsRedirectToFile) {
    TestHttpServer server([](const std::string&) {
        return httpResponse(302, "", "Location: file:///etc/passwd\r\n");
    });
    Result<std::string> body = fetchTemplateUrl(server.url("/t.tdl"), 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::UserInput);
    EXPECT_TRUE(contains(body.error().message, "protocol other than http or https"))
        << body.error().message;
}

TEST(TemplateFetchTest, RejectsOtherSchemes) {
    for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/t.tdl", "gopher://x/"}) {
        Result<std::string> body = fetchTemplateUrl(url, 5, kMaxTemplateBytes);
        ASSERT_FALSE(body.ok()) << url;
        EXPECT_EQ(body.error().code, ErrorCode::UserInput);
        EXPECT_TRUE(contains(body.error().message, url)) << body.error().message;
    }
}

TEST(TemplateFetchTest, RejectsSpaceInUrl) {
    Result<std::string> body = fetchTemplateUrl("http://127.0.0.1/a b", 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::UserInput);
    EXPECT_TRUE(contains(body.error().message, "\"http://127.0.0.1/a b\"")) << body.error().message;
}

TEST(TemplateFetchTest, HidesPasswordInMessages) {
    TestHttpServer server([](const std::string&) { return httpResponse(404, ""); });
    std::string url = "http://user:s3cret@127.0.0.1:" + std::to_string(server.port()) + "/t.tdl";
    Result<std::string> body = fetchTemplateUrl(url, 5, kMaxTemplateBytes);
    ASSERT_FALSE(body.ok());
    EXPECT_FALSE(contains(body.error().message, "s3cret")) << body.error().message;
    EXPECT_TRUE(contains(body.error().message, "http://***@127.0.0.1:")) << body.error().message;
}

TEST(TemplateFetchTest, RedactsUserInfo) {
    EXPECT_EQ(redactUrl("https://a:b@host/x@y"), "https://***@host/x@y");
    EXPECT_EQ(redactUrl("https://host/path@x"), "https://host/path@x");
    EXPECT_EQ(redactUrl("http://host"), "http://host");
    EXPECT_EQ(redactUrl("not a url"), "not a url");
}

TEST(TemplateFetchTest, TakesIdFromUrl) {
    EXPECT_EQ(templateIdFromUrl("http://h/templates/0f8fad5b-d9cb-469f-a165-70867728950e.tdl"),
              "0f8fad5b-d9cb-469f-a165-70867728950e");
    EXPECT_EQ(templateIdFromUrl("http://h/templates/f14.tdl"), "");
}

}  // namespace
}  // namespace imagefactory
