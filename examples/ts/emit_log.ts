// Tutorial 3, "Publish/Subscribe": broadcast a log message through the fanout exchange 'logs'.
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
const exchange = 'logs'
const text = process.argv.slice(2).join(' ') || 'info: Hello World!'

const connection = await amqp.connect(url)
const channel = await connection.createChannel()

await channel.assertExchange(exchange, 'fanout', { durable: false })
// A fanout exchange ignores the routing key
channel.publish(exchange, '', Buffer.from(text))
console.log(" [x] Sent '%s'", text)

await channel.close()
await connection.close()
