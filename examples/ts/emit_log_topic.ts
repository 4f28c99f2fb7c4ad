// Tutorial 5, "Topics": send a log message to the topic exchange 'topic_logs'.
// Usage: node emit_log_topic.js [<facility>.<severity>] [message]
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
const exchange = 'topic_logs'
const routingKey = process.argv[2] ?? 'anonymous.info'
const text = process.argv.slice(3).join(' ') || 'Hello World!'

const connection = await amqp.connect(url)
const channel = await connection.createChannel()

await channel.assertExchange(exchange, 'topic', { durable: false })
channel.publish(exchange, routingKey, Buffer.from(text))
console.log(" [x] Sent '%s':'%s'", routingKey, text)

await channel.close()
await connection.close()
