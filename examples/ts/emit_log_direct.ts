// Tutorial 4, "Routing": send a log message with a severity to the direct exchange 'direct_logs'.
// Usage: node emit_log_direct.js [severity] [message]
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
const exchange = 'direct_logs'
const severity = process.argv[2] ?? 'info'
const text = process.argv.slice(3).join(' ') || 'Hello World!'

const connection = await amqp.connect(url)
const channel = await connection.createChannel()

await channel.assertExchange(exchange, 'direct', { durable: false })
channel.publish(exchange, severity, Buffer.from(text))
console.log(" [x] Sent '%s':'%s'", severity, text)

await channel.close()
await connection.close()
