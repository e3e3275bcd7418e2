"""Procurement's pages, one blueprint each: requisitions (the list and inbox, new, amend, the
printed forms) with the requisition page and its steps (page.py), the supplier register, the
stock ledger, and the approval chain. Shared fields in fields.py."""
from views.procurement import chain, page, requisitions, stock, suppliers  # noqa: F401  (page adds its routes)

blueprints = (requisitions.bp, suppliers.bp, stock.bp, chain.bp)
