// Tutorial 2, "Work queues": send a task to the durable queue 'task_queue'.
// Each dot in the message stands for one second of work: `node new_task.js A long task.....`
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
const queue = 'task_queue'
const text = process.argv.slice(2).join(' ') || 'Hello World!'

const connection = await amqp.connect(url)
const channel = await connection.createChannel()

// A durable queue and persistent messages (delivery mode 2) survive a broker restart
await channel.assertQueue(queue, { durable: true })
channel.sendToQueue(queue, Buffer.from(text), { persistent: true })
console.log(" [x] Sent '%s'", text)

await channel.close()
await connection.close()
