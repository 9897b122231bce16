// The agent and console transports against a real RabbitMQ node, with a small stand-in for
// the QMF agent so that only the AMQP layer is under test.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "amqp/agent_connection.hpp"
#include "amqp/console_connection.hpp"
#include "core/uuid.hpp"
#include "rabbitmq_node.hpp"

namespace imagefactory::amqp {
namespace {

using namespace std::chrono_literals;
using testing::RabbitNode;

// Replies to every request with the request's body, and queues events for the connection to
// drain.
class EchoAgent {
  public:
    std::string name = "redhat.com:imagefactory:test-" + newUuid();

    AgentHooks hooks() {
        AgentHooks hooks;
        hooks.agent_name = name;
        hooks.handle = [this](const qmf::Message& in, std::vector<qmf::Message>& out) {
            qmf::Message reply;
            reply.reply_to = in.reply_to;
            reply.correlation_id = in.correlation_id;
            reply.properties = {{"qmf.opcode", qmf::Value("_method_response")},
                                {"qmf.agent", qmf::Value(name)}};
            reply.body = in.body;
            out.push_back(reply);
        };
        hooks.heartbeat = [this] {
            qmf::Message heartbeat;
            heartbeat.node = "qmf.default.topic";
            heartbeat.subject = "agent.ind.heartbeat.redhat_com.imagefactory";
            heartbeat.properties = {{"qmf.opcode", qmf::Value("_agent_heartbeat_indication")},
                                    {"qmf.agent", qmf::Value(name)}};
            return heartbeat;
        };
        hooks.take_events = [this](size_t max) {
            std::lock_guard lock(mutex_);
            std::vector<qmf::Message> out;
            while (!events_.empty() && out.size() < max) {
                out.push_back(std::move(events_.front()));
                events_.pop_front();
            }
            return out;
        };
        return hooks;
    }

    void raise(int64_t sequence) {
        qmf::Message event;
        event.node = "qmf.default.topic";
        event.subject = "agent.ind.event.com_redhat_imagefactory.Test";
        event.properties = {{"qmf.opcode", qmf::Value("_data_indication")},
                            {"qmf.agent", qmf::Value(name)}};
        event.body = qmf::Value(qmf::List{qmf::Value(sequence)});
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
    }

  private:
    std::mutex mutex_;
    std::deque<qmf::Message> events_;
};

std::string opcodeOf(const qmf::Message& message) {
    return qmf::textField(message.properties, "qmf.opcode").value_or("");
}

bool isFrom(const qmf::Message& message, const EchoAgent& agent) {
    return qmf::textField(message.properties, "qmf.agent") == agent.name;
}

// Waits for the next message from agent with the opcode, skipping other traffic.
std::optional<qmf::Message> waitFor(ConsoleConnection& console, const EchoAgent& agent,
                                    const std::string& opcode,
                                    std::chrono::milliseconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto message = console.receive(200ms);
        if (message && isFrom(*message, agent) && opcodeOf(*message) == opcode) {
            return message;
        }
    }
    return std::nullopt;
}

// Collects count event sequence numbers from agent, in arrival order.
std::vector<int64_t> collectEvents(ConsoleConnection& console, const EchoAgent& agent, size_t count,
                                   std::chrono::milliseconds timeout) {
    std::vector<int64_t> sequence;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (sequence.size() < count && std::chrono::steady_clock::now() < deadline) {
        auto message = console.receive(200ms);
        if (!message || !isFrom(*message, agent) || opcodeOf(*message) != "_data_indication") {
            continue;
        }
        const auto* list = message->body.list();
        if (list != nullptr && list->size() == 1 && list->front().integer()) {
            sequence.push_back(*list->front().integer());
        }
    }
    return sequence;
}

BrokerAddress localBroker(uint16_t port) {
    return parseBrokerAddress("127.0.0.1:" + std::to_string(port)).value();
}

class AgentTransportTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        node_.port = testing::rabbitPortFromEnvironment();
        node_.base = std::string(IF_BINARY_DIR) + "/rabbitmq-" + std::to_string(node_.port);
        started_ = !testing::portAcceptsConnections(node_.port);
        unavailable_ = testing::ensureRabbit(node_);
    }

    // A node this suite started is stopped again; one that was running is left alone.
    static void TearDownTestSuite() {
        if (started_ && !unavailable_) {
            testing::stopRabbit(node_);
        }
    }

    void SetUp() override {
        if (unavailable_) {
            GTEST_SKIP() << *unavailable_;
        }
        console_ = std::make_unique<ConsoleConnection>(
            ConsoleConnection::Options{localBroker(node_.port), BrokerType::Auto, true, ""});
        ASSERT_TRUE(console_->open(30s).ok());
        connection_ = std::make_unique<AgentConnection>(
            AgentConnection::Options{localBroker(node_.port), BrokerType::Auto, 1s},
            agent_.hooks());
        connection_->start();
        ASSERT_TRUE(waitFor(*console_, agent_, "_agent_heartbeat_indication").has_value());
    }

    void TearDown() override {
        if (connection_) {
            connection_->stop();
        }
        if (console_) {
            console_->close();
        }
    }

    qmf::Message request(const std::string& correlation, qmf::Value body) {
        qmf::Message message;
        message.node = "qmf.default.direct";
        message.subject = agent_.name;
        message.correlation_id = qmf::Value(correlation);
        message.properties = {{"qmf.opcode", qmf::Value("_method_request")}};
        message.body = std::move(body);
        return message;
    }

    static inline RabbitNode node_;
    static inline std::optional<std::string> unavailable_;
    static inline bool started_ = false;
    EchoAgent agent_;
    std::unique_ptr<ConsoleConnection> console_;
    std::unique_ptr<AgentConnection> connection_;
};

TEST_F(AgentTransportTest, RequestGetsReplyWithCorrelationId) {
    qmf::Value body(qmf::Map{{"_method_name", qmf::Value("echo")},
                             {"n", qmf::Value(uint64_t{1} << 63)},
                             {"bin", qmf::Value(qmf::Binary{std::string("\0\1\2", 3)})}});
    ASSERT_TRUE(console_->send(request("7", body)).ok());
    auto reply = waitFor(*console_, agent_, "_method_response");
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->correlation_id, qmf::Value("7"));
    EXPECT_EQ(reply->body, body);
}

TEST_F(AgentTransportTest, BroadcastReachesAgent) {
    qmf::Message locate;
    locate.node = "qmf.default.topic";
    locate.subject = "console.request.agent_locate";
    locate.correlation_id = qmf::Value("agent-locate");
    locate.properties = {{"qmf.opcode", qmf::Value("_agent_locate_request")}};
    locate.body = qmf::Value(qmf::List{});
    ASSERT_TRUE(console_->send(locate).ok());
    auto reply = waitFor(*console_, agent_, "_method_response");
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->correlation_id, qmf::Value("agent-locate"));
}

TEST_F(AgentTransportTest, HeartbeatRepeatsEveryInterval) {
    auto first = std::chrono::steady_clock::now();
    ASSERT_TRUE(waitFor(*console_, agent_, "_agent_heartbeat_indication", 5s).has_value());
    ASSERT_TRUE(waitFor(*console_, agent_, "_agent_heartbeat_indication", 5s).has_value());
    EXPECT_LT(std::chrono::steady_clock::now() - first, 5s);
}

TEST_F(AgentTransportTest, EventsArriveInOrder) {
    constexpr int kEvents = 3000;
    std::thread producer([this] {
        for (int i = 0; i < kEvents; ++i) {
            agent_.raise(i);
            connection_->wakeup();
        }
    });
    auto sequence = collectEvents(*console_, agent_, kEvents, 60s);
    producer.join();
    ASSERT_EQ(sequence.size(), static_cast<size_t>(kEvents));
    for (int i = 0; i < kEvents; ++i) {
        ASSERT_EQ(sequence[i], i) << "at position " << i;
    }
}

TEST_F(AgentTransportTest, BadReplyToKeepsReceiversWorking) {
    qmf::Message hostile = request("1", qmf::Value("x"));
    hostile.reply_to = "/exchange/no.such.exchange/key";
    ASSERT_TRUE(console_->send(hostile).ok());
    qmf::Message slashes = request("2", qmf::Value("y"));
    slashes.reply_to = "/exchange//";
    ASSERT_TRUE(console_->send(slashes).ok());
    std::this_thread::sleep_for(500ms);

    ASSERT_TRUE(console_->send(request("3", qmf::Value("z"))).ok());
    auto reply = waitFor(*console_, agent_, "_method_response");
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->correlation_id, qmf::Value("3"));
}

// A private node on its own port, so that stopping it disturbs no other test. Its definitions
// add a durable queue bound to agent indications, which the console reads. Events that the agent
// sends right after reconnecting are therefore kept even if the console reconnects later.
class BrokerRestartTest : public ::testing::Test {
  protected:
    void SetUp() override {
        node_.port = static_cast<uint16_t>(testing::rabbitPortFromEnvironment() + 17);
        node_.base = std::string(IF_BINARY_DIR) + "/rabbitmq-" + std::to_string(node_.port);
        std::filesystem::create_directories(node_.base);
        node_.definitions = node_.base + "-definitions.json";
        writeDefinitions(node_.definitions);
        if (testing::portAcceptsConnections(node_.port)) {
            GTEST_SKIP() << "port " << node_.port << " is in use";
        }
        if (testing::startRabbit(node_) != 0) {
            GTEST_SKIP() << "RabbitMQ could not be started on port " << node_.port;
        }
    }

    void TearDown() override {
        if (!node_.base.empty()) {
            testing::stopRabbit(node_);
        }
    }

    static void writeDefinitions(const std::string& path) {
        std::ifstream in(std::string(IF_SOURCE_DIR) + "/scripts/rabbitmq/definitions.json");
        auto definitions = nlohmann::json::parse(in);
        definitions["queues"].push_back({{"name", kQueue},
                                         {"vhost", "/"},
                                         {"durable", true},
                                         {"auto_delete", false},
                                         {"arguments", nlohmann::json::object()}});
        definitions["bindings"].push_back({{"source", "qmf.default.topic"},
                                           {"vhost", "/"},
                                           {"destination", kQueue},
                                           {"destination_type", "queue"},
                                           {"routing_key", "agent.ind.#"},
                                           {"arguments", nlohmann::json::object()}});
        std::ofstream(path) << definitions.dump(2);
    }

    static constexpr const char* kQueue = "imagefactory-test-indications";
    RabbitNode node_;
};

TEST_F(BrokerRestartTest, QueuedEventsArriveInOrderAfterRestart) {
    EchoAgent agent;
    ConsoleConnection console(
        ConsoleConnection::Options{localBroker(node_.port), BrokerType::Auto, true, kQueue});
    ASSERT_TRUE(console.open(30s).ok());
    AgentConnection connection(
        AgentConnection::Options{localBroker(node_.port), BrokerType::Auto, 2s}, agent.hooks());
    connection.start();
    ASSERT_TRUE(waitFor(console, agent, "_agent_heartbeat_indication").has_value());

    for (int i = 0; i < 10; ++i) {
        agent.raise(i);
        connection.wakeup();
    }
    ASSERT_EQ(collectEvents(console, agent, 10, 20s).size(), 10u);

    ASSERT_EQ(testing::stopRabbit(node_), 0);
    ASSERT_FALSE(testing::portAcceptsConnections(node_.port));
    for (int i = 10; i < 110; ++i) {
        agent.raise(i);
        connection.wakeup();
    }
    ASSERT_EQ(testing::startRabbit(node_), 0);

    auto sequence = collectEvents(console, agent, 100, 60s);
    ASSERT_EQ(sequence.size(), 100u);
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(sequence[i], i + 10) << "at position " << i;
    }
    EXPECT_TRUE(connection.ready());
    connection.stop();
    console.close();
}

}  // namespace
}  // namespace imagefactory::amqp
