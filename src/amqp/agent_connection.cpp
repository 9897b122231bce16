#include "amqp/agent_connection.hpp"

#include <atomic>

#include "amqp/broker_connection.hpp"
#include "amqp/log.hpp"
#include "core/uuid.hpp"

namespace imagefactory::amqp {
namespace {

constexpr size_t kEventBatch = 256;
constexpr const char* kDirectExchange = "qmf.default.direct";
constexpr const char* kTopicExchange = "qmf.default.topic";

}  // namespace

class AgentConnection::Impl {
  public:
    Impl(Options options, AgentHooks hooks)
        : hooks_(std::move(hooks)),
          connection_(connectionOptions(options), BrokerConnection::Handler{
                                                      [this](BrokerType) { return bindings(); },
                                                      [this](BrokerType) { onReady(); },
                                                      [this](qmf::Message&& in) { onMessage(in); },
                                                      nullptr,
                                                      [this] { sendHeartbeat(); },
                                                  }) {}

    void start() { connection_.start(); }
    void stop() { connection_.stop(); }
    bool ready() const { return connection_.ready(); }

    void wakeup() {
        if (drain_posted_.exchange(true)) {
            return;
        }
        if (!connection_.post([this] { drainEvents(); })) {
            drain_posted_ = false;
        }
    }

  private:
    static BrokerConnection::Options connectionOptions(const Options& options) {
        BrokerConnection::Options out;
        out.broker = options.broker;
        out.broker_type = options.broker_type;
        out.container_id = "imagefactory-agent-" + newUuid();
        out.tick_interval = options.heartbeat_interval;
        return out;
    }

    std::vector<Binding> bindings() const {
        return {{kDirectExchange, hooks_.agent_name}, {kTopicExchange, "console.#"}};
    }

    // The heartbeat goes first so consoles see the agent again, then the events in the order
    // they were raised: those the broker had not confirmed before the outage, then the ones
    // queued in the agent since.
    void onReady() {
        sendHeartbeat();
        if (size_t resent = connection_.resendUnconfirmed(); resent > 0) {
            logger()->info("resent {} events the broker had not confirmed", resent);
        }
        drainEvents();
    }

    void onMessage(const qmf::Message& in) {
        std::vector<qmf::Message> replies;
        hooks_.handle(in, replies);
        for (const auto& reply : replies) {
            if (auto sent = connection_.send(reply); !sent) {
                logger()->warn("reply not sent: {}", sent.error().message);
            }
        }
    }

    void sendHeartbeat() {
        if (!connection_.ready()) {
            return;
        }
        if (auto sent = connection_.send(hooks_.heartbeat()); !sent) {
            logger()->warn("heartbeat not sent: {}", sent.error().message);
        }
    }

    // Sends queued events in order. While disconnected nothing is taken, so the events stay in
    // the agent's bounded queue until the next onReady.
    void drainEvents() {
        drain_posted_ = false;
        while (connection_.ready()) {
            auto events = hooks_.take_events(kEventBatch);
            for (const auto& event : events) {
                auto sent = connection_.send(event, BrokerConnection::Delivery::UntilAccepted);
                if (!sent) {
                    logger()->warn("event not sent: {}", sent.error().message);
                }
            }
            if (events.size() < kEventBatch) {
                return;
            }
        }
    }

    const AgentHooks hooks_;
    std::atomic<bool> drain_posted_{false};
    BrokerConnection connection_;
};

AgentConnection::AgentConnection(Options options, AgentHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(hooks))) {}

AgentConnection::~AgentConnection() {
    impl_->stop();
}

void AgentConnection::start() {
    impl_->start();
}

void AgentConnection::stop() {
    impl_->stop();
}

void AgentConnection::wakeup() {
    impl_->wakeup();
}

bool AgentConnection::ready() const {
    return impl_->ready();
}

}  // namespace imagefactory::amqp
