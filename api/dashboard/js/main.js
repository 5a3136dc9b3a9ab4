// Sign-in and the choice of view. A key's prefix says whose it is (le_opr_ for operators); the first
// call made with it proves it, so a wrong key never opens an empty view.
import { api, ApiError, session } from './api.js';
import { customerView } from './customer.js';
import { operatorView } from './operator.js';
import { say } from './dom.js';

const $ = (id) => document.getElementById(id);
const isOperatorKey = (key) => key.startsWith('le_opr_');
let current = null;

async function open(key) {
  session.key = key;
  const operator = isOperatorKey(key);
  // Proves the key before anything is drawn: 401 here means "wrong key", not an empty list.
  await api('GET', operator ? '/v1/operator/fleet' : '/v1/leases');
  current?.stop();
  $('sign-in').hidden = true;
  $('who').hidden = false;
  $('who').textContent = operator ? 'Signed in as an operator' : 'Signed in as a customer';
  $('sign-out').hidden = false;
  $('customer-view').hidden = operator;
  $('operator-view').hidden = !operator;
  say('');
  current = operator ? operatorView($('operator-view')) : customerView($('customer-view'));
  $('main').focus();
}

function signOut() {
  current?.stop();
  current = null;
  session.key = null;
  $('customer-view').replaceChildren();
  $('operator-view').replaceChildren();
  $('customer-view').hidden = true;
  $('operator-view').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  say('Signed out.');
  $('api-key').focus();
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  const key = $('api-key').value.trim();
  try {
    await open(key);
    $('api-key').value = '';
  } catch (error) {
    session.key = null;
    $('sign-in-error').textContent = error instanceof ApiError && error.status === 401
      ? `That key was refused: ${error.message}.`
      : `Could not sign in: ${error.message}`;
  }
});
$('sign-out').addEventListener('click', signOut);

if (session.key) {
  open(session.key).catch(() => {
    session.key = null;
    say('Your saved key was refused; sign in again.');
  });
}
