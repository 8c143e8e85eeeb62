//! E-mail templates: each renders a subject, a plain-text part and an HTML part from the
//! same facts, with every interpolated value escaped in the HTML.

use super::OutgoingEmail;
use domain::escape_markup as escape;

/// The shared HTML frame: a heading, paragraphs, an optional button and a footer.
fn html_page(
    shop: &str,
    heading: &str,
    paragraphs: &[String],
    button: Option<(&str, &str)>,
) -> String {
    let shop = escape(shop);
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!(
            "<p style=\"margin:0 0 16px;line-height:1.5\">{}</p>",
            escape(p)
        ));
    }
    if let Some((label, href)) = button {
        body.push_str(&format!(
            "<p style=\"margin:24px 0\"><a href=\"{href}\" style=\"background:#b45309;color:#fff;\
             padding:12px 20px;border-radius:6px;text-decoration:none;font-weight:600\">{label}</a></p>\
             <p style=\"margin:0 0 16px;font-size:13px;color:#57534e\">If the button does not work, \
             copy this address into your browser:<br><a href=\"{href}\">{href}</a></p>",
            href = escape(href),
            label = escape(label)
        ));
    }
    format!(
        "<!DOCTYPE html><html><body style=\"font-family:system-ui,sans-serif;color:#1c1917;\
         background:#fafaf9;padding:24px\"><div style=\"max-width:560px;margin:0 auto;background:#fff;\
         padding:32px;border-radius:8px\"><p style=\"font-weight:700;font-size:18px;margin:0 0 24px\">{shop}</p>\
         <h1 style=\"font-size:22px;margin:0 0 16px\">{heading}</h1>{body}</div></body></html>",
        heading = escape(heading)
    )
}

/// The one-time link to choose a new password.
pub fn password_reset(shop: &str, to: &str, link: &str, valid_minutes: u64) -> OutgoingEmail {
    let subject = format!("Reset your {shop} password");
    let intro = format!(
        "Someone asked to reset the password of your {shop} account. If it was you, choose a new password with the link below."
    );
    let validity = format!(
        "The link works once and expires in {valid_minutes} minutes. If you did not ask for it, ignore this e-mail: your password stays as it is."
    );
    let text = format!("{subject}\n\n{intro}\n\n{link}\n\n{validity}\n\n— {shop}\n");
    let html = html_page(
        shop,
        "Reset your password",
        &[intro, validity],
        Some(("Choose a new password", link)),
    );
    OutgoingEmail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// The one-time link that finishes creating an account (proving the address is theirs).
pub fn confirm_registration(shop: &str, to: &str, link: &str, valid_hours: u64) -> OutgoingEmail {
    let subject = format!("Finish creating your {shop} account");
    let intro = format!(
        "Someone, hopefully you, asked to create a {shop} account with this e-mail address. To finish, confirm with the link below."
    );
    let validity = format!(
        "The link works once and expires in {valid_hours} hours. If you did not ask for an account, ignore this e-mail: nothing is created."
    );
    let text = format!("{subject}\n\n{intro}\n\n{link}\n\n{validity}\n\n— {shop}\n");
    let html = html_page(
        shop,
        "Finish creating your account",
        &[intro, validity],
        Some(("Create my account", link)),
    );
    OutgoingEmail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// An invitation to join a shop's staff: a one-time link to accept it.
pub fn staff_invite(
    shop: &str,
    to: &str,
    role: &str,
    link: &str,
    valid_days: u64,
) -> OutgoingEmail {
    let subject = format!("You are invited to join the {shop} staff");
    let intro = format!(
        "You have been invited to help run {shop} as: {role}. Accept with the link below; you will set up two-factor sign-in with an authenticator app next."
    );
    let validity = format!(
        "The link works once and expires in {valid_days} days. If you did not expect this, ignore this e-mail."
    );
    let text = format!("{subject}\n\n{intro}\n\n{link}\n\n{validity}\n\n— {shop}\n");
    let html = html_page(
        shop,
        "Join the staff",
        &[intro, validity],
        Some(("Accept the invitation", link)),
    );
    OutgoingEmail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// Tells the holder of an existing account that someone tried to register with their
/// address (the registration form answers the same either way, so nobody learns that the
/// address has an account).
pub fn registration_attempt(shop: &str, to: &str, sign_in: &str, reset: &str) -> OutgoingEmail {
    let subject = format!("You already have a {shop} account");
    let intro = format!(
        "Someone, hopefully you, tried to create a {shop} account with this e-mail address, which already has one. Nothing was changed."
    );
    let help =
        format!("Sign in at {sign_in}. If you forgot your password, choose a new one at {reset}.");
    let text = format!("{subject}\n\n{intro}\n\n{help}\n\n— {shop}\n");
    let html = html_page(
        shop,
        "You already have an account",
        &[intro, help],
        Some(("Sign in", sign_in)),
    );
    OutgoingEmail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// Tells the account holder their password was changed, in case it was not them.
pub fn password_changed(shop: &str, to: &str, support_url: &str) -> OutgoingEmail {
    let subject = format!("Your {shop} password was changed");
    let body = format!(
        "The password of your {shop} account was just changed and every other signed-in device was signed out. If this was not you, reset your password now at {support_url}."
    );
    let text = format!("{subject}\n\n{body}\n\n— {shop}\n");
    let html = html_page(shop, "Your password was changed", &[body], None);
    OutgoingEmail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// Tells the old address that the account's e-mail changed, in case it was not them.
pub fn email_changed(shop: &str, old: &str, new: &str) -> OutgoingEmail {
    let subject = format!("Your {shop} e-mail address was changed");
    let body = format!(
        "The e-mail address of your {shop} account was changed from {old} to {new}. Password reset links sent to this address no longer work. If this was not you, contact us right away."
    );
    let text = format!("{subject}\n\n{body}\n\n— {shop}\n");
    let html = html_page(shop, "Your e-mail address was changed", &[body], None);
    OutgoingEmail {
        to: old.to_owned(),
        subject,
        text,
        html,
    }
}

/// The order confirmation: what was bought, the totals, where it goes and how to pay.
/// `link` is the order's page with its signed key, which opens it on any device.
pub fn order_confirmation(shop: &str, link: &str, order: &domain::OrderView) -> OutgoingEmail {
    let subject = format!("Your {shop} order {}", order.number);
    let mut text = format!(
        "Thank you for your order {}.\n\nPlaced: {}\n\n",
        order.number, order.placed_at
    );
    let mut rows = String::new();
    for l in &order.lines {
        let label = if l.variant_label.is_empty() {
            l.product_name.clone()
        } else {
            format!("{} ({})", l.product_name, l.variant_label)
        };
        text.push_str(&format!("{} x {label}: {}\n", l.quantity, l.line_total));
        rows.push_str(&format!(
            "<tr><td style=\"padding:4px 0\">{} &times; {}</td><td style=\"padding:4px 0;text-align:right\">{}</td></tr>",
            l.quantity,
            escape(&label),
            escape(&l.line_total.to_string())
        ));
    }
    let totals = [
        ("Subtotal", order.subtotal.to_string()),
        (
            &*format!("Shipping ({})", order.shipping_method),
            order.shipping.to_string(),
        ),
        ("Tax", order.tax.to_string()),
        ("Total", order.total.to_string()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    for (k, v) in &totals {
        text.push_str(&format!("{k}: {v}\n"));
        rows.push_str(&format!(
            "<tr><td style=\"padding:4px 0;color:#57534e\">{}</td><td style=\"padding:4px 0;text-align:right\">{}</td></tr>",
            escape(k),
            escape(v)
        ));
    }
    let ship_to = order.ship_to.join(", ");
    text.push_str(&format!(
        "\nShipping to: {ship_to}\nPayment: {}\n",
        order.payment_method
    ));
    if !order.payment_instructions.is_empty() {
        text.push_str(&format!("{}\n", order.payment_instructions));
    }
    text.push_str(&format!(
        "\nSee your order, pay or cancel it at {link}\n\n— {shop}\n"
    ));
    let mut paragraphs = vec![
        format!(
            "Thank you for your order {}. We will e-mail you again when it ships.",
            order.number
        ),
        format!("Shipping to: {ship_to}"),
        format!("Payment: {}", order.payment_method),
    ];
    if !order.payment_instructions.is_empty() {
        paragraphs.push(order.payment_instructions.clone());
    }
    let html = html_page(shop, "Thank you for your order", &paragraphs, Some(("See your order", link)))
        .replace("</h1>", &format!("</h1><table style=\"width:100%;border-collapse:collapse;margin:0 0 16px\">{rows}</table>"));
    OutgoingEmail {
        to: order.email.clone(),
        subject,
        text,
        html,
    }
}

/// A short message with one paragraph and an optional button.
fn notice(
    shop: &str,
    to: &str,
    subject: String,
    heading: &str,
    body: String,
    link: Option<(&str, &str)>,
) -> OutgoingEmail {
    let mut text = format!("{subject}\n\n{body}\n");
    if let Some((label, url)) = link {
        text.push_str(&format!("\n{label}: {url}\n"));
    }
    text.push_str(&format!("\n— {shop}\n"));
    let html = html_page(shop, heading, &[body], link);
    OutgoingEmail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// The payment arrived (sent once per order, whatever told the shop first).
pub fn payment_received(shop: &str, link: &str, order: &domain::OrderView) -> OutgoingEmail {
    notice(
        shop,
        &order.email,
        format!("Payment received for your {shop} order {}", order.number),
        "Thank you, your payment arrived",
        format!(
            "We received {} for your order {} ({}). We will e-mail you again when it ships.",
            order.total, order.number, order.payment_method
        ),
        Some(("See your order", link)),
    )
}

/// An unpaid order was cancelled when its time to pay ran out; its items went back.
pub fn order_expired(shop: &str, link: &str, order: &domain::OrderView) -> OutgoingEmail {
    notice(
        shop,
        &order.email,
        format!("Your {shop} order {} was cancelled", order.number),
        "Your order was cancelled",
        format!(
            "Your order {} for {} was not paid in time, so we cancelled it and nothing will be charged. If you still want the items, you are welcome to order them again.",
            order.number, order.total
        ),
        Some(("See the order", link)),
    )
}

/// Staff refunded part or all of an order.
pub fn refund_issued(
    shop: &str,
    link: &str,
    order: &domain::OrderView,
    amount: domain::Money,
    to: &str,
) -> OutgoingEmail {
    let how = match to {
        "by bank transfer" => "We have sent it back by bank transfer.".to_owned(),
        "to your card" => {
            "It goes back to the card you paid with; banks take 5 to 10 working days to show it."
                .to_owned()
        }
        other => format!("It goes back {other}."),
    };
    notice(
        shop,
        &order.email,
        format!("Refund of {amount} for your {shop} order {}", order.number),
        "We refunded you",
        format!(
            "We refunded {amount} of your order {} ({} in all). {how}",
            order.number, order.total
        ),
        Some(("See your order", link)),
    )
}

/// Staff cancelled an order before it shipped.
pub fn order_cancelled(shop: &str, link: &str, order: &domain::OrderView) -> OutgoingEmail {
    let money = if order.state.payment == domain::PaymentStatus::Refunded {
        "Everything you paid has been refunded."
    } else {
        "Nothing will be charged."
    };
    notice(
        shop,
        &order.email,
        format!("Your {shop} order {} was cancelled", order.number),
        "Your order was cancelled",
        format!(
            "We cancelled your order {} for {}. {money} If you have any questions, reply to this e-mail.",
            order.number, order.total
        ),
        Some(("See the order", link)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_email_carries_the_link_in_both_parts_and_escapes_html() {
        let link = "https://shop.example/reset-password?token=abc&x=<y>";
        let e = password_reset("A&B <Shop>", "ann@example.com", link, 60);
        assert!(e.text.contains(link));
        assert!(e.html.contains("token=abc&amp;x=&lt;y&gt;"));
        assert!(e.html.contains("A&amp;B &lt;Shop&gt;"));
        assert!(!e.html.contains("<Shop>"));
        assert!(e.text.contains("60 minutes"));
    }
}
