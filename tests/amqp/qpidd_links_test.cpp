// Link set-up in the qpidd address style, checked without a broker: a Proton container on an
// ephemeral port plays qpidd (product "qpid-cpp", ANONYMOUS-RELAY offered) and records the links
// and messages it gets from BrokerConnection.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <proton/codec/decoder.hpp>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/listen_handler.hpp>
#include <proton/listener.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/source.hpp>
#include <proton/source_options.hpp>
#include <proton/symbol.hpp>
#include <proton/target.hpp>
#include <thread>

#include "amqp/broker_connection.hpp"

namespace imagefactory::amqp {
namespace {

using namespace std::chrono_literals;

struct RecordedSource {
    std::string address;
    std::string descriptor;
    std::string key;
};

struct RecordedMessage {
    bool anonymous_link = false;
    std::string to;
    std::string subject;
};

// A pretend qpidd: accepts every link and records what the client asked for.
class FakeQpidd : public proton::messaging_handler, public proton::listen_handler {
  public:
    FakeQpidd() : container_(*this) {
        container_.listen("127.0.0.1:0", static_cast<proton::listen_handler&>(*this));
        thread_ = std::thread([this] { container_.run(); });
    }

    ~FakeQpidd() override {
        container_.stop();
        thread_.join();
    }

    int port() { return port_.get_future().get(); }

    void on_open(proton::listener& listener) override { port_.set_value(listener.port()); }

    proton::connection_options on_accept(proton::listener&) override {
        proton::connection_options options;
        options.handler(*this);
        options.sasl_enabled(true);
        options.sasl_allowed_mechs("ANONYMOUS");
        return options;
    }

    // The open frame carries what qpidd's does: its product name and the relay capability.
    void on_connection_open(proton::connection& connection) override {
        proton::connection_options options;
        options.properties({{proton::symbol("product"), proton::value("qpid-cpp")}});
        options.offered_capabilities({proton::symbol("ANONYMOUS-RELAY")});
        connection.open(options);
    }

    // The client's receivers are this side's senders.
    void on_sender_open(proton::sender& sender) override {
        RecordedSource source;
        source.address = sender.source().address();
        auto filters = sender.source().filters();
        if (!filters.empty()) {
            proton::value filter = filters.get(proton::symbol("qmf-binding"));
            proton::codec::decoder in(filter);
            proton::codec::start header;
            proton::symbol descriptor;
            in >> header >> descriptor >> source.key;
            source.descriptor = descriptor;
        }
        sender.open(
            proton::sender_options().source(proton::source_options().address(source.address)));
        std::lock_guard lock(mutex_);
        sources_.push_back(source);
        changed_.notify_all();
    }

    void on_receiver_open(proton::receiver& receiver) override {
        anonymous_[receiver.name()] = receiver.target().anonymous();
        receiver.open();
    }

    void on_message(proton::delivery& delivery, proton::message& message) override {
        std::lock_guard lock(mutex_);
        messages_.push_back(
            {anonymous_[delivery.receiver().name()], message.to(), message.subject()});
        changed_.notify_all();
    }

    bool waitForSources(size_t count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, 10s, [&] { return sources_.size() >= count; });
    }

    bool waitForMessages(size_t count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, 10s, [&] { return messages_.size() >= count; });
    }

    std::vector<RecordedSource> sources() {
        std::lock_guard lock(mutex_);
        return sources_;
    }

    std::vector<RecordedMessage> messages() {
        std::lock_guard lock(mutex_);
        return messages_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<RecordedSource> sources_;
    std::vector<RecordedMessage> messages_;
    std::map<std::string, bool> anonymous_;  // container thread only
    std::promise<int> port_;
    proton::container container_;
    std::thread thread_;
};

class QpiddLinksTest : public ::testing::Test {
  protected:
    void SetUp() override {
        BrokerConnection::Options options;
        options.broker = parseBrokerAddress("127.0.0.1:" + std::to_string(broker_.port())).value();
        options.container_id = "qpidd-links-test";
        BrokerConnection::Handler handler;
        handler.bindings = [](BrokerType) {
            return std::vector<Binding>{{"qmf.default.direct", "redhat.com:imagefactory:1"},
                                        {"qmf.default.topic", "console.#"}};
        };
        handler.on_ready = [this](BrokerType style) {
            std::lock_guard lock(mutex_);
            style_ = style;
            ready_.notify_all();
        };
        connection_ = std::make_unique<BrokerConnection>(options, handler);
        connection_->start();
        std::unique_lock lock(mutex_);
        ASSERT_TRUE(ready_.wait_for(lock, 10s, [this] { return style_.has_value(); }));
    }

    void TearDown() override { connection_->stop(); }

    Status sendOnConnectionThread(qmf::Message message) {
        auto result = std::make_shared<std::promise<Status>>();
        auto future = result->get_future();
        connection_->post(
            [this, message, result] { result->set_value(connection_->send(message)); });
        return future.get();
    }

    FakeQpidd broker_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::optional<BrokerType> style_;
    std::unique_ptr<BrokerConnection> connection_;
};

TEST_F(QpiddLinksTest, DetectsQpiddStyle) {
    EXPECT_EQ(style_, BrokerType::Qpidd);
}

TEST_F(QpiddLinksTest, BindsWithLegacyFilters) {
    ASSERT_TRUE(broker_.waitForSources(2));
    auto sources = broker_.sources();
    EXPECT_EQ(sources[0].address, "qmf.default.direct");
    EXPECT_EQ(sources[0].descriptor, "apache.org:legacy-amqp-direct-binding:string");
    EXPECT_EQ(sources[0].key, "redhat.com:imagefactory:1");
    EXPECT_EQ(sources[1].address, "qmf.default.topic");
    EXPECT_EQ(sources[1].descriptor, "apache.org:legacy-amqp-topic-binding:string");
    EXPECT_EQ(sources[1].key, "console.#");
}

TEST_F(QpiddLinksTest, RepliesThroughAnonymousRelay) {
    qmf::Message reply;
    reply.reply_to = "qmf.default.topic/direct-console.7";
    ASSERT_TRUE(sendOnConnectionThread(reply).ok());
    qmf::Message heartbeat;
    heartbeat.node = "qmf.default.topic";
    heartbeat.subject = "agent.ind.heartbeat.redhat_com.imagefactory";
    ASSERT_TRUE(sendOnConnectionThread(heartbeat).ok());

    ASSERT_TRUE(broker_.waitForMessages(2));
    auto messages = broker_.messages();
    EXPECT_TRUE(messages[0].anonymous_link);
    EXPECT_EQ(messages[0].to, "qmf.default.topic");
    EXPECT_EQ(messages[0].subject, "direct-console.7");
    EXPECT_TRUE(messages[1].anonymous_link);
    EXPECT_EQ(messages[1].to, "qmf.default.topic");
    EXPECT_EQ(messages[1].subject, "agent.ind.heartbeat.redhat_com.imagefactory");
}

}  // namespace
}  // namespace imagefactory::amqp
