// Tutorial 1, "Hello World!": send one message to the queue 'hello'.
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
const queue = 'hello'
const text = 'Hello World!'

const connection = await amqp.connect(url)
const channel = await connection.createChannel()

await channel.assertQueue(queue, { durable: false })
channel.sendToQueue(queue, Buffer.from(text))
console.log(" [x] Sent '%s'", text)

// Closing the channel first waits until the broker has processed everything sent on it
await channel.close()
await connection.close()
