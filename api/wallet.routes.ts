/**
 * The customer's wallet (issue 8 item 1). The engine holds no customer key: a customer proves a wallet is its own by
 * signing one line with it, approves an allowance for the escrow program with any Solana client, and the engine
 * draws deposits only through the program within that allowance. GET shows what the chain says of it now.
 */
import { PublicKey } from '@solana/web3.js';
import { Router } from 'express';
import type { Logger } from 'pino';
import { formatTokenAmount } from '../domain/money';
import { checkWalletProof, walletRegistrationMessage } from '../domain/wallet-registration';
import { findCustomerWallet, registerCustomerWallet } from '../infra/db/repositories/customers.repo';
import { currentCustomer, requireCustomer } from './auth';
import { jsonBody } from './body';
import type { AppDeps } from './deps';
import { parseOrThrow, problems } from './errors';
import { allowanceReader } from './payments';
import { RegisterWalletRequest, WalletQuery, type WalletView } from './schemas/wallet.schemas';

export function walletRouter(deps: Pick<AppDeps, 'db' | 'payments'> & { logger: Logger }): Router {
  const { db, payments, logger } = deps;
  const read = payments === undefined ? undefined : allowanceReader(payments, logger);
  const router = Router();
  router.use(requireCustomer(db));

  async function view(customerId: string, address: string | null, shown: string | null): Promise<WalletView> {
    const none = { approved: false, allowance: '0', balance: '0', spendable: '0', tokenAccount: null, allowanceDelegate: null,
      approveWith: null, revokeWith: null };
    const registrationMessage = shown === null ? null : walletRegistrationMessage(customerId, shown);
    if (address === null || read === undefined) return { address, registrationMessage, ...none };
    const a = await read(new PublicKey(address), 'nothing changed');
    const token = a.tokenAccount.toBase58();
    return {
      address,
      registrationMessage,
      tokenAccount: token,
      allowanceDelegate: a.delegate.toBase58(),
      approved: a.approved,
      allowance: formatTokenAmount(a.allowance),
      balance: formatTokenAmount(a.balance),
      spendable: formatTokenAmount(a.spendable),
      approveWith: `spl-token approve ${token} <amount> ${a.delegate.toBase58()} --owner <wallet keypair>`,
      revokeWith: `spl-token revoke ${token} --owner <wallet keypair>`,
    };
  }

  router.get('/', async (req, res) => {
    const customer = currentCustomer(res);
    const { address } = parseOrThrow(WalletQuery, req.query, 'query');
    const registered = await findCustomerWallet(db, customer.id);
    res.json(await view(customer.id, registered, address ?? registered));
  });

  router.post('/', ...jsonBody, async (req, res) => {
    const customer = currentCustomer(res);
    const { address, signature } = parseOrThrow(RegisterWalletRequest, req.body);
    const problem = checkWalletProof(customer.id, address, signature);
    if (problem !== null) {
      // Named as the request names it: the wallet is the body's `address`.
      const field = problem.field === 'wallet' ? 'address' : problem.field;
      throw problems.unprocessable(`${field} ${problem.message}`, [{ field, message: problem.message }]);
    }
    await registerCustomerWallet(db, customer.id, address);
    res.json(await view(customer.id, address, address));
  });

  return router;
}
