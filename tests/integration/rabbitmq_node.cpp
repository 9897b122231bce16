#include "rabbitmq_node.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace imagefactory::testing {
namespace {

int runScript(const std::string& script, const RabbitNode& node) {
    std::string path = std::string(IF_SOURCE_DIR) + "/scripts/rabbitmq/" + script;
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        setenv("RMQ_PORT", std::to_string(node.port).c_str(), 1);
        setenv("RMQ_BASE", node.base.c_str(), 1);
        if (!node.definitions.empty()) {
            setenv("RMQ_DEFINITIONS", node.definitions.c_str(), 1);
        } else {
            unsetenv("RMQ_DEFINITIONS");
        }
        execl("/bin/bash", "bash", path.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

uint16_t rabbitPortFromEnvironment() {
    const char* text = std::getenv("RMQ_PORT");
    if (text == nullptr) {
        return 5672;
    }
    int port = std::atoi(text);
    return port > 0 && port < 65536 ? static_cast<uint16_t>(port) : 5672;
}

bool portAcceptsConnections(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool open = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    close(fd);
    return open;
}

std::optional<std::string> ensureRabbit(const RabbitNode& node) {
    if (portAcceptsConnections(node.port)) {
        return std::nullopt;
    }
    int status = startRabbit(node);
    if (status != 0 || !portAcceptsConnections(node.port)) {
        return "RabbitMQ could not be started on 127.0.0.1:" + std::to_string(node.port) +
               " (scripts/rabbitmq/start.sh exit status " + std::to_string(status) + ")";
    }
    return std::nullopt;
}

int startRabbit(const RabbitNode& node) {
    return runScript("start.sh", node);
}

int stopRabbit(const RabbitNode& node) {
    return runScript("stop.sh", node);
}

}  // namespace imagefactory::testing
