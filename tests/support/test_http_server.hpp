#pragma once

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
#include <string_view>
#include <thread>
#include <vector>

// A small HTTP server on 127.0.0.1 for tests of template downloads.
namespace imagefactory {

inline std::string httpResponse(int status, std::string_view body,
                                std::string_view extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) +
           " Status\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n" + std::string(extra_headers) + "\r\n" + std::string(body);
}

// A one-connection-at-a-time HTTP server on 127.0.0.1 and a free port. The responder gets the
// request path and returns the raw response; an empty response means "accept the connection
// and never answer", which is how a hung server looks to a client.
class TestHttpServer {
  public:
    using Responder = std::function<std::string(const std::string& path)>;

    explicit TestHttpServer(Responder responder) : responder_(std::move(responder)) {
        listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        socklen_t length = sizeof address;
        if (listen_fd_ < 0 ||
            bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            listen(listen_fd_, 8) != 0 ||
            getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            ADD_FAILURE() << "could not start the test HTTP server";
            return;
        }
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }

    ~TestHttpServer() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
        for (int fd : held_) {
            close(fd);
        }
        if (listen_fd_ >= 0) {
            close(listen_fd_);
        }
    }

    std::string url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    int port() const { return port_; }

  private:
    void serve() {
        while (!stop_) {
            pollfd waiting{listen_fd_, POLLIN, 0};
            if (poll(&waiting, 1, 50) <= 0) {
                continue;
            }
            int client = accept(listen_fd_, nullptr, nullptr);
            if (client < 0) {
                continue;
            }
            std::string path = readRequestPath(client);
            std::string response = responder_(path);
            if (response.empty()) {
                held_.push_back(client);
                continue;
            }
            sendAll(client, response);
            close(client);
        }
    }

    std::string readRequestPath(int client) {
        std::string request;
        char buffer[4096];
        while (request.find("\r\n\r\n") == std::string::npos && !stop_) {
            pollfd readable{client, POLLIN, 0};
            if (poll(&readable, 1, 50) <= 0) {
                continue;
            }
            ssize_t received = recv(client, buffer, sizeof buffer, 0);
            if (received <= 0) {
                break;
            }
            request.append(buffer, static_cast<size_t>(received));
        }
        size_t start = request.find(' ');
        size_t end = request.find(' ', start + 1);
        if (start == std::string::npos || end == std::string::npos) {
            return {};
        }
        return request.substr(start + 1, end - start - 1);
    }

    static void sendAll(int client, const std::string& data) {
        size_t sent = 0;
        while (sent < data.size()) {
            ssize_t written = send(client, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (written <= 0) {
                return;  // the client gave up, e.g. after its size limit
            }
            sent += static_cast<size_t>(written);
        }
    }

    Responder responder_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::vector<int> held_;  // connections of the never-answering mode, used by serve() only
    std::thread thread_;
};

// Keeps libcurl from sending the requests for the local test servers to a proxy that the
// environment may name.
class DirectConnectionEnvironment : public testing::Environment {
  public:
    void SetUp() override {
        setenv("no_proxy", "127.0.0.1", 1);
        setenv("NO_PROXY", "127.0.0.1", 1);
    }
};
inline const testing::Environment* const kDirectConnection =
    testing::AddGlobalTestEnvironment(new DirectConnectionEnvironment);

}  // namespace imagefactory
