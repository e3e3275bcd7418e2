"""Procurement (物资采购): requisition → approvals → purchase order → receiving inspection →
goods receipt note and stock ledger → reimbursement; and the supplier register.

    chain         the approval chain as data, and who approves (Roster)
    suppliers     the supplier register
    requisitions  the requisition and its workflow: TRANSITIONS, refusal(), apply()
    orders        purchase orders, receiving, returns, reimbursement (the effects of their transitions)
    stock         the stock ledger and the desk's issues

Import a name from the module that owns it; the few below are what most callers use."""
from models.procurement import chain, orders, requisitions, stock, suppliers  # noqa: F401  (orders registers its effects)
from models.procurement.chain import ProcurementError, step_label
from models.procurement.requisitions import STATES, Requisition, SentBackForApproval, apply, refusal

__all__ = ["ProcurementError", "Requisition", "STATES", "SentBackForApproval", "apply", "refusal",
           "step_label"]
