// The live drop page's script (served by gavel fanout at /static/drop.js; docs/page.md).
//
// Observers: follows the drop over the fan-out's observer socket, starting from the seq the
// server rendered (?since=SEQ), so nothing between the render and the socket is missed; after
// the socket drops it reconnects with the last seq it holds. A message at or below that seq is
// ignored: the price never goes backwards. Bidders: a token (demo sign-in in the local stack,
// or pasted), a bid form posting to the gateway, the gateway's own words for every refusal, and
// "outbid" notices from the gateway's bidder socket. No inline code: the page's CSP forbids it.
"use strict";

(() => {
  const root = document.getElementById("drop");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const d = root.dataset;
  const drop = d.drop;
  const currency = d.currency;
  const digits = Number(d.digits);
  const skewMs = Number(d.now) - Date.now(); // server clock minus ours
  const gateway = d.gateway.replace(/\/+$/, "");
  const tokenKey = `gavel.token.${drop}`;

  const state = {
    seq: Number(d.seq),
    highBid: d.highBid === "" ? null : Number(d.highBid),
    minNext: Number(d.minNext),
    opensAt: Number(d.opensAt),
    endsAt: Number(d.endsAt),
    status: d.status,
    reserveMet: d.reserveMet === "true",
  };

  // --- money: integers of minor units, never floats --------------------------------------
  function plain(amount) {
    const s = String(amount).padStart(digits + 1, "0");
    return digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  }
  function display(amount) {
    const [whole, fraction] = plain(amount).split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return fraction === undefined ? `${currency} ${grouped}` : `${currency} ${grouped}.${fraction}`;
  }
  function parseAmount(typed) {
    const m = /^\s*(\d{1,16})(?:[.,](\d*))?\s*$/.exec(typed.replace(/[\s\u00a0]/g, ""));
    if (!m || (m[2] || "").length > digits) return null;
    const fraction = (m[2] || "").padEnd(digits, "0");
    const value = Number(m[1] + fraction); // < 2**53 for every amount Gavel accepts
    return Number.isSafeInteger(value) && value >= 1 ? value : null;
  }

  // --- observer view ---------------------------------------------------------------------
  function pad(n) {
    return String(n).padStart(2, "0");
  }
  function countdownText(ms) {
    let s = Math.max(0, Math.floor(ms / 1000));
    const days = Math.floor(s / 86400);
    s -= days * 86400;
    const clock = `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    return days ? `${days}d ${clock}` : clock;
  }
  function tick() {
    const now = Date.now() + skewMs;
    if (state.status !== "cancelled") {
      state.status = now < state.opensAt ? "scheduled" : now >= state.endsAt ? "closed" : "live";
    }
    const labels = { scheduled: "Opens in", live: "Ends in", closed: "Closed", cancelled: "Cancelled" };
    $("countdown-label").textContent = labels[state.status];
    const target = state.status === "scheduled" ? state.opensAt : state.endsAt;
    $("countdown").textContent =
      state.status === "scheduled" || state.status === "live" ? countdownText(target - now) : "";
    root.dataset.status = state.status;
  }
  function timeOf(ms) {
    return new Date(ms).toLocaleTimeString([], { hour12: false });
  }
  function addRecent(m) {
    const list = $("recent");
    const item = document.createElement("li");
    item.dataset.seq = String(m.seq);
    item.dataset.ms = String(m.decided_ms);
    for (const [cls, text] of [
      ["amount", display(m.high_bid)],
      ["alias", m.leader_alias],
      ["at", timeOf(m.decided_ms)],
    ]) {
      const span = document.createElement(cls === "at" ? "time" : "span");
      span.className = cls;
      span.textContent = text;
      item.append(span, " ");
    }
    list.prepend(item);
    while (list.children.length > 10) list.lastElementChild.remove();
  }
  function apply(m) {
    state.seq = m.seq;
    root.dataset.seq = String(m.seq);
    if (m.high_bid !== null) {
      state.highBid = m.high_bid;
      state.minNext = m.min_next;
      state.endsAt = Math.max(state.endsAt, m.ends_at_ms);
      state.reserveMet = m.reserve_met;
      $("price").textContent = display(m.high_bid);
      $("leader").textContent = m.leader_alias;
      $("reserve").textContent = m.reserve_met ? "Met" : "Not met";
      $("reserve").className = m.reserve_met ? "met" : "unmet";
      setMinNext(m.min_next);
    }
    $("bids").textContent = String(m.seq);
    tick();
  }
  function onObserverMessage(m) {
    // Anything at or below what we show is old news (a replica behind us, a duplicate).
    if (m.drop !== drop || m.seq <= state.seq) return;
    apply(m);
    if (m.high_bid !== null) addRecent(m);
  }

  const connection = $("connection");
  function setConnection(live, text) {
    connection.textContent = text;
    connection.className = `connection ${live ? "live" : "offline"}`;
  }
  let retries = 0;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/v1/drops/${drop}/live?since=${state.seq}`;
    const ws = new WebSocket(url);
    ws.onopen = () => {
      retries = 0;
      setConnection(true, "Live");
    };
    ws.onmessage = (event) => {
      try {
        onObserverMessage(JSON.parse(event.data));
      } catch (err) {
        console.warn("gavel: unreadable message", err);
      }
    };
    ws.onclose = () => {
      // Back off 0.5 s, 1 s, 2 s ... 5 s, with jitter so a restarted replica is not stampeded.
      const wait = Math.min(5000, 500 * 2 ** retries) * (0.5 + Math.random() / 2);
      retries += 1;
      setConnection(false, "Reconnecting…");
      setTimeout(connect, wait);
    };
  }

  // --- bidder ----------------------------------------------------------------------------
  const amountInput = $("amount");
  let amountTouched = false;
  function setMinNext(minNext) {
    $("min-next").textContent = display(minNext);
    if (!amountTouched) {
      amountInput.value = plain(minNext);
    }
  }
  function say(text, kind) {
    const box = $("bid-message");
    box.textContent = text;
    box.className = `message ${kind}`;
  }
  function token() {
    return sessionStorage.getItem(tokenKey);
  }
  let bidderSocket = null;
  let bidderRetries = 0;
  function showSignedIn(bidder) {
    $("signin").hidden = !!bidder;
    $("bid-form").hidden = !bidder;
    $("signed-in").textContent = bidder ? `Signed in as ${bidder}.` : "";
  }
  function subjectOf(jwt) {
    try {
      const body = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(body)).sub || "bidder";
    } catch {
      return null;
    }
  }
  function signIn(jwt) {
    const bidder = subjectOf(jwt);
    if (!bidder) {
      say("That is not a bidder token.", "error");
      return;
    }
    sessionStorage.setItem(tokenKey, jwt);
    showSignedIn(bidder);
    say("", "");
    openBidderSocket();
    amountInput.focus();
  }
  function signOut(why) {
    sessionStorage.removeItem(tokenKey);
    if (bidderSocket) bidderSocket.close(1000);
    bidderSocket = null;
    showSignedIn(null);
    say(why || "", why ? "error" : "");
  }
  function openBidderSocket() {
    const jwt = token();
    if (!jwt || bidderSocket) return;
    const url = `${gateway.replace(/^http/, "ws")}/v1/drops/${drop}/bidder?access_token=${encodeURIComponent(jwt)}`;
    const ws = new WebSocket(url);
    bidderSocket = ws;
    ws.onopen = () => {
      bidderRetries = 0;
    };
    ws.onmessage = (event) => {
      const m = JSON.parse(event.data);
      if (m.type === "outbid" && m.seq >= state.seq) {
        const notice = $("outbid");
        notice.textContent = `You were outbid: the high bid is now ${display(m.high_bid)}. Minimum next bid: ${display(m.min_next)}.`;
        notice.hidden = false;
        say("", "");
        setMinNext(m.min_next);
      }
    };
    ws.onclose = (event) => {
      if (bidderSocket !== ws) return;
      bidderSocket = null;
      if (event.code === 4401) {
        signOut("Your sign-in is no longer valid; sign in again.");
        return;
      }
      if (event.code === 1000 || !token()) return;
      bidderRetries += 1;
      setTimeout(openBidderSocket, Math.min(5000, 500 * 2 ** bidderRetries));
    };
  }

  // A bid keeps its id until the gateway gave a final answer, so sending the same amount again
  // after a network error or a 503 is the same bid (the gateway is idempotent by bid id).
  let pending = null;
  function bidId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function refusal(problem) {
    const title = problem.title || "The bid was refused";
    if (problem.code === "below_minimum" && problem.min_next) {
      amountTouched = false; // offer the amount that would have been accepted
      setMinNext(problem.min_next);
      return `${title}: the minimum next bid is ${display(problem.min_next)}.`;
    }
    if (problem.code === "rate_limited" && problem.retry_after_ms) {
      return `${title} (try again in ${Math.ceil(problem.retry_after_ms / 1000)} s).`;
    }
    return `${title}.`;
  }
  async function placeBid(event) {
    event.preventDefault();
    const amount = parseAmount(amountInput.value);
    if (amount === null) {
      say(`Enter an amount in ${currency}, with at most ${digits} decimals.`, "error");
      amountInput.focus();
      return;
    }
    if (!pending || pending.amount !== amount) pending = { amount, id: bidId() };
    const button = $("bid-button");
    button.disabled = true;
    say("Placing your bid…", "");
    try {
      const response = await fetch(`${gateway}/v1/drops/${drop}/bids`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" },
        body: JSON.stringify({ bid_id: pending.id, amount }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.status === 503) {
        say(`${refusal(body)} Submit again to retry the same bid.`, "error");
        return;
      }
      pending = null;
      if (response.ok) {
        amountTouched = false;
        $("outbid").hidden = true;
        say(`Your bid of ${display(amount)} is the high bid.`, "ok");
        setMinNext(body.min_next);
      } else if (response.status === 401) {
        signOut(refusal(body));
      } else {
        say(refusal(body), "error");
      }
    } catch {
      say("The bid gateway could not be reached. Submit again to retry the same bid.", "error");
    } finally {
      button.disabled = false;
    }
  }
  async function onSignIn(event) {
    event.preventDefault();
    if ($("token").value.trim() || !d.demoLogin) {
      signIn($("token").value.trim());
      return;
    }
    const name = $("bidder-name").value.trim();
    if (!/^[A-Za-z0-9._@:-]{1,64}$/.test(name)) {
      say("A bidder name is 1 to 64 letters, digits or . _ @ : -", "error");
      return;
    }
    try {
      const response = await fetch(d.demoLogin, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ bidder: name }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || response.statusText);
      signIn(body.token);
    } catch (err) {
      say(`Sign-in failed: ${err.message}`, "error");
    }
  }

  // --- start -----------------------------------------------------------------------------
  for (const time of document.querySelectorAll("#recent time")) {
    time.textContent = timeOf(Number(time.parentElement.dataset.ms));
  }
  amountInput.addEventListener("input", () => {
    amountTouched = true;
  });
  if (gateway) {
    $("signin").addEventListener("submit", onSignIn);
    $("use-token").addEventListener("click", () => signIn($("token").value.trim()));
    $("bid-form").addEventListener("submit", placeBid);
    $("signout").addEventListener("click", () => signOut());
    if (token()) {
      showSignedIn(subjectOf(token()));
      openBidderSocket();
    }
  }
  tick();
  setInterval(tick, 250);
  connect();
})();
