// node-postgres through Warden: parameterised queries (unnamed statement), a named prepared statement, a temp
// table with a sensitive column, and an error the connection recovers from.
// Usage: NODE_PATH=<dir with pg installed> PGPASSWORD=<token> node node_postgres.js PORT USER
const { Client } = require('pg');

async function main() {
  const client = new Client({ host: '127.0.0.1', port: Number(process.argv[2]), database: 'dev',
    user: process.argv[3], password: process.env.PGPASSWORD, ssl: { rejectUnauthorized: false } });
  await client.connect();
  const ids = await Promise.all([1, 2, 3, 4, 5].map(i => client.query('SELECT $1::int AS id', [i])));
  console.log('ids ' + ids.map(r => r.rows[0].id).join(','));
  await client.query('CREATE TEMP TABLE contacts (id int, email text)');
  await client.query('INSERT INTO contacts VALUES ($1, $2)', [1, 'ann@example.com']);
  const named = await client.query({ name: 'by-id', text: 'SELECT id, email FROM contacts WHERE id = $1', values: [1] });
  const again = await client.query({ name: 'by-id', text: 'SELECT id, email FROM contacts WHERE id = $1', values: [1] });
  console.log('email ' + (named.rows[0].email === 'ann@example.com' ? 'clear' : 'masked')
    + ' again ' + (again.rows[0].email === 'ann@example.com' ? 'clear' : 'masked'));
  try {
    await client.query('SELECT 1 / $1::int', [0]);
  } catch (e) {
    console.log('error ' + e.code);
  }
  const after = await client.query('SELECT count(*)::int AS n FROM contacts');
  console.log('after error ' + after.rows[0].n);
  await client.end();
}

main().catch(e => { console.error('failed', e); process.exit(1); });
