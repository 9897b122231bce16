# Environment for a private RabbitMQ node that listens on loopback only. Sourced by start.sh and
# stop.sh. Settings:
#   RMQ_BASE  folder for all node state (default: $TMPDIR/imagefactory-rabbitmq-$RMQ_PORT)
#   RMQ_PORT  AMQP port (default 5672); the Erlang distribution port is RMQ_PORT + 20000
# The node name carries the port, so several nodes on different ports can share one epmd.
# The /usr/sbin/rabbitmq* wrappers switch to the rabbitmq user and reset the environment, so the
# scripts call /usr/lib/rabbitmq/bin/* directly. Server and CLI share $HOME because the Erlang
# cookie is stored there.
RMQ_PORT=${RMQ_PORT:-5672}
RMQ_BASE=${RMQ_BASE:-${TMPDIR:-/tmp}/imagefactory-rabbitmq-$RMQ_PORT}
RMQ_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export RMQ_PORT RMQ_BASE RMQ_SCRIPTS
export HOME=$RMQ_BASE/home
export RABBITMQ_NODENAME=if-rmq-$RMQ_PORT@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$RMQ_PORT
export RABBITMQ_DIST_PORT=$((RMQ_PORT + 20000))
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CONFIG_FILE=$RMQ_BASE/rabbitmq.conf
export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_BASE/enabled_plugins
export RABBITMQ_MNESIA_BASE=$RMQ_BASE/mnesia
export RABBITMQ_LOG_BASE=$RMQ_BASE/log
export RABBITMQ_PID_FILE=$RMQ_BASE/rabbit.pid
export RABBITMQ_CONF_ENV_FILE=$RMQ_BASE/rabbitmq-env.conf
export PATH=/usr/lib/rabbitmq/bin:$PATH
